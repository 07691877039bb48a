import type OlMap from 'ol/Map';
import Feature from 'ol/Feature';
import VectorSource from 'ol/source/Vector';
import VectorLayer from 'ol/layer/Vector';
import Draw, { createBox } from 'ol/interaction/Draw';
import Modify from 'ol/interaction/Modify';
import Snap from 'ol/interaction/Snap';
import GeoJSON from 'ol/format/GeoJSON';
import type Geometry from 'ol/geom/Geometry';
import type Polygon from 'ol/geom/Polygon';
import { Fill, Stroke, Style, Circle as CircleStyle } from 'ol/style';
import { getArea as sphereArea } from 'ol/sphere';
import { CommandStack } from '../stores/commandStack';

export type EditMode = 'none' | 'box' | 'polygon' | 'modify';
export interface PolygonGeoJson {
  type: 'Polygon' | 'MultiPolygon';
  coordinates: unknown[];
}

const format = new GeoJSON();

/**
 * The study area being drawn or edited: one polygon (the draft) on its own layer, the Draw
 * (rectangle via createBox, or free polygon) and Modify interactions, and an undo/redo stack of
 * geometry snapshots. The Study areas panel drives it; StudyAreaLayer attaches it to the map.
 */
export class StudyAreaEditor {
  mode = $state<EditMode>('none');
  hasDraft = $state(false);
  canUndo = $state(false);
  canRedo = $state(false);
  undoLabel = $state<string | null>(null);
  redoLabel = $state<string | null>(null);
  /** The saved study area the draft replaces on save (null: a new one). */
  editingId = $state<number | null>(null);
  /** How many times the draft changed (the panel shows the draft's area from it). */
  revision = $state(0);

  readonly source = new VectorSource();
  readonly layer = new VectorLayer({
    source: this.source,
    zIndex: 1001,
    style: [
      new Style({
        stroke: new Stroke({ color: '#d55e00', width: 2, lineDash: [6, 4] }),
        fill: new Fill({ color: 'rgba(213,94,0,0.10)' }),
      }),
    ],
  });
  private readonly stack = new CommandStack();
  private map: OlMap | null = null;
  private interactions: Array<Draw | Modify | Snap> = [];

  constructor() {
    this.stack.subscribe(() => {
      this.canUndo = this.stack.canUndo;
      this.canRedo = this.stack.canRedo;
      this.undoLabel = this.stack.undoLabel;
      this.redoLabel = this.stack.redoLabel;
    });
  }

  /** The projection of the attached map's view (the draft's coordinates). */
  projection(): string {
    return this.map?.getView().getProjection().getCode() ?? 'EPSG:3857';
  }

  /** Puts the draft layer on a map (StudyAreaLayer's mount); returns the detach function. */
  attach(map: OlMap): () => void {
    this.map = map;
    map.addLayer(this.layer);
    this.setMode(this.mode);
    return () => {
      this.clearInteractions();
      map.removeLayer(this.layer);
      if (this.map === map) this.map = null;
    };
  }

  /** The draft feature (at most one). */
  private draft(): Feature<Geometry> | null {
    return this.source.getFeatures()[0] ?? null;
  }

  private geometryClone(): Geometry | null {
    return this.draft()?.getGeometry()?.clone() ?? null;
  }

  /** Replaces the draft's geometry (null removes it) without recording. */
  private put(g: Geometry | null): void {
    this.source.clear();
    if (g) this.source.addFeature(new Feature(g.clone()));
    this.hasDraft = g !== null;
    this.revision += 1;
  }

  /** Records a change from `before` to `after` (both snapshots) on the stack and applies it. */
  private change(label: string, before: Geometry | null, after: Geometry | null): void {
    this.stack.run({ label, do: () => this.put(after), undo: () => this.put(before) });
  }

  setMode(mode: EditMode): void {
    this.mode = mode;
    this.clearInteractions();
    const map = this.map;
    if (!map || mode === 'none') return;
    if (mode === 'box' || mode === 'polygon') {
      const draw = new Draw({
        type: mode === 'box' ? 'Circle' : 'Polygon',
        // a rectangle is dragged (press, drag, release); a polygon is clicked vertex by vertex
        ...(mode === 'box' ? { geometryFunction: createBox(), freehand: true } : {}),
        style: new Style({
          stroke: new Stroke({ color: '#d55e00', width: 2 }),
          fill: new Fill({ color: 'rgba(213,94,0,0.08)' }),
          image: new CircleStyle({ radius: 4, fill: new Fill({ color: '#d55e00' }) }),
        }),
      });
      draw.on('drawend', (e) => {
        const before = this.geometryClone();
        const after = e.feature.getGeometry()!.clone();
        // the finished sketch is not added to any source: the stack puts it in the draft
        queueMicrotask(() => this.change(mode === 'box' ? 'draw rectangle' : 'draw polygon', before, after));
        // one shape per draw; then its vertices can be edited
        queueMicrotask(() => this.setMode('modify'));
      });
      this.interactions.push(draw);
    } else {
      const modify = new Modify({ source: this.source });
      let before: Geometry | null = null;
      modify.on('modifystart', () => {
        before = this.geometryClone();
      });
      modify.on('modifyend', () => {
        const after = this.geometryClone();
        // the map already moved the vertex: record it so it can be undone
        const b = before;
        this.stack.record({ label: 'move vertex', do: () => this.put(after), undo: () => this.put(b) });
        this.revision += 1;
      });
      this.interactions.push(modify, new Snap({ source: this.source }));
    }
    for (const i of this.interactions) map.addInteraction(i);
  }

  private clearInteractions(): void {
    for (const i of this.interactions) this.map?.removeInteraction(i);
    this.interactions = [];
  }

  undo(): void {
    this.stack.undo();
  }
  redo(): void {
    this.stack.redo();
  }

  /** Deletes the draft (undoable). */
  deleteDraft(): void {
    if (!this.hasDraft) return;
    this.change('delete shape', this.geometryClone(), null);
    this.setMode('none');
  }

  /** Starts editing a saved area: its outline becomes the draft (`geometry` in `crs`). */
  load(id: number, geometry: PolygonGeoJson, crs: string, viewProjection = this.projection()): void {
    const g = format.readGeometry(geometry, { dataProjection: crs, featureProjection: viewProjection });
    this.stack.clear();
    this.put(g);
    this.editingId = id;
    this.setMode('modify');
  }

  /** Ends the edit: no draft, no history. */
  reset(): void {
    this.stack.clear();
    this.put(null);
    this.editingId = null;
    this.setMode('none');
  }

  /** The draft as GeoJSON in `crs` (EPSG:4326 or the project's), or null. */
  geometry(crs = 'EPSG:4326', viewProjection = this.projection()): PolygonGeoJson | null {
    const g = this.draft()?.getGeometry() as Polygon | undefined;
    if (!g) return null;
    const obj = format.writeGeometryObject(g, {
      dataProjection: crs,
      featureProjection: viewProjection,
      decimals: crs === 'EPSG:4326' ? 7 : 2,
    }) as PolygonGeoJson;
    return obj.type === 'Polygon' || obj.type === 'MultiPolygon' ? obj : null;
  }

  /** The draft's area in km² on the sphere (ol/sphere getArea: spherical excess on a 6371008.8 m sphere). */
  areaKm2(viewProjection = this.projection()): number | null {
    void this.revision;
    const g = this.draft()?.getGeometry() as Polygon | undefined;
    return g ? sphereArea(g, { projection: viewProjection }) / 1e6 : null;
  }
}
