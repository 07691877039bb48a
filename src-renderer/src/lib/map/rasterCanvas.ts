/**
 * The 2D-canvas path for rasters drawn as values.
 *
 * Why it exists: where WebGL is rendered in software (SwiftShader in Chromium/Electron without a GPU,
 * Mesa's llvmpipe, Windows' Basic Render Driver: virtual machines, remote desktops, CI), every frame
 * of a `WebGLTileLayer` runs its fragment shader on the CPU over the whole map and the page then
 * reads the pixels back for the software compositor: about 250–400 ms of the page thread per frame
 * on two cores, so a time-slider step (two or three frames) took 250–800 ms (`npm run bench -- ui`).
 * On that hardware the colours are computed here instead, once per step or restyle, into an RGBA
 * image at the raster's own size, and an OpenLayers `ImageLayer` draws that image with nearest
 * sampling (a 2D `drawImage`, a few milliseconds). `colourize` (colormaps.ts) maps values to colours
 * as `colorExpression` does on the WebGL path, so both paths draw the same colours; reprojection is
 * OpenLayers' image reprojection (nearest sampling).
 */
import ImageWrapper from 'ol/Image';
import ImageState from 'ol/ImageState';
import { intersects, type Extent } from 'ol/extent';
import type { ProjectionLike } from 'ol/proj';
import ImageSource from 'ol/source/Image';

/** How rasters are drawn: WebGL tiles on GPU-rendered WebGL, 2D canvas images otherwise. */
export type RasterRenderer = 'webgl' | 'canvas';

/** Renderer strings of software WebGL implementations (`WEBGL_debug_renderer_info`). */
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|lavapipe|software|basic render/i;

/** True when `renderer` (an `UNMASKED_RENDERER_WEBGL` string) names a software rasteriser. */
export function isSoftwareRenderer(renderer: string): boolean {
  return SOFTWARE_GL.test(renderer);
}

let chosen: RasterRenderer | null = null;

/**
 * The raster renderer for this page, probed once: `canvas` when WebGL is missing or rendered in
 * software, `webgl` otherwise. `localStorage['fieldcal.rasterRenderer']` (`webgl` or `canvas`)
 * overrides the probe, to compare both paths on one machine.
 */
export function rasterRenderer(): RasterRenderer {
  if (chosen) return chosen;
  let forced: string | null = null;
  try {
    forced = globalThis.localStorage?.getItem('fieldcal.rasterRenderer') ?? null;
  } catch {
    forced = null; // storage denied: probe
  }
  if (forced === 'webgl' || forced === 'canvas') return (chosen = forced);
  chosen = 'canvas';
  try {
    const probe = document.createElement('canvas');
    const gl = probe.getContext('webgl2') ?? probe.getContext('webgl');
    if (gl) {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
      chosen = isSoftwareRenderer(name) ? 'canvas' : 'webgl';
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    chosen = 'canvas'; // no usable WebGL: the canvas path draws anyway
  }
  return chosen;
}

/**
 * An image source holding one picture of a raster (its cells, coloured) over its extent, in the
 * raster's projection; OpenLayers scales it to the view with nearest sampling and reprojects it
 * when the view is in another projection.
 */
export class RasterImageSource extends ImageSource {
  private picture: ImageWrapper | null = null;

  constructor(projection: ProjectionLike) {
    super({ projection, interpolate: false });
  }

  /** Shows `rgba` (width × height cells, north up) over `extent` [x0, y0, x1, y1]. */
  setPicture(rgba: Uint8ClampedArray<ArrayBuffer>, width: number, height: number, extent: Extent): void {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
    const resolution = [(extent[2]! - extent[0]!) / width, (extent[3]! - extent[1]!) / height];
    const picture = new ImageWrapper(extent.slice(), resolution, 1, ImageState.LOADED);
    picture.setImage(canvas);
    this.picture = picture;
    this.changed();
  }

  protected override getImageInternal(extent: Extent): ImageWrapper | null {
    const p = this.picture;
    return p && intersects(extent, p.getExtent()) ? p : null;
  }
}
