/* eslint-disable svelte/prefer-svelte-reactivity -- every Map here is a fresh snapshot assigned to $state.raw (views) or a local lookup, never mutated while reactive */
import type OlMap from 'ol/Map';
import { transformExtent } from 'ol/proj';
import {
  layerStyleSchema,
  type CellSeries,
  type DatasetRecord,
  type IdentifyResult,
  type LayerRecord,
  type LayerStyle,
  type MapPoint,
  type RasterSource,
  type RasterView,
} from '../../../../src-shared/ipc';
import { api, errorMessage } from '../api';
import type { AppState } from './app.svelte';

/** A raster layer as the map draws it (project layers bottom to top, then transient result layers). */
export interface DrawLayer {
  key: string;
  name: string;
  source: RasterSource;
  style: LayerStyle;
  opacity: number;
  visible: boolean;
  kind: 'project' | 'result';
  /** The project layer's id (kind 'project'). */
  layerId?: number;
}

/** A transient layer of a run's output (not saved in the project). */
export interface ResultLayerInput {
  key: string;
  name: string;
  source: RasterSource;
  style?: LayerStyle;
}

/** One picked cell: every visible layer's value there, and the series of the stacks. */
export interface IdentifiedCell {
  id: number;
  /** Where the user clicked, in the map view's CRS, and in lon/lat. */
  point: MapPoint;
  lonLat: [number, number] | null;
  results: IdentifyResult[];
  series: Array<{ key: string; name: string; series: CellSeries }>;
  error: string | null;
}

/** Dataset kinds that draw as rasters. */
const RASTER_KINDS = new Set<DatasetRecord['kind']>(['raster', 'stack', 'netcdf']);
/** At most this many picked cells are kept for comparison. */
const MAX_CELLS = 8;

/** Parses a layer's saved style; anything unknown or malformed is dropped, never thrown. */
export function parseStyle(raw: unknown): LayerStyle {
  const r = layerStyleSchema.safeParse(raw);
  if (r.success) return r.data;
  const out: Record<string, unknown> = {};
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) {
      const one = layerStyleSchema.safeParse({ [k]: v });
      if (one.success) Object.assign(out, one.data);
    }
  }
  return out as LayerStyle;
}

/** The same source at another step: a stack's step, or band step + 1 of a multi-band GeoTIFF. */
export function withStep(s: RasterSource, step: number): RasterSource {
  return 'datasetId' in s ? { datasetId: s.datasetId, step } : { ...s, band: step + 1 };
}

/** A stable key of a source without its step (same raster, another time step). */
export function sourceBaseKey(s: RasterSource): string {
  return 'datasetId' in s
    ? `d${s.datasetId}`
    : `a${s.artifactId}${s.minusArtifactId ? `-${s.minusArtifactId}` : ''}`;
}

/** The map's state: drawable layers, the raster views they read, time steps, identify results. */
export class MapState {
  /** Transient result layers (top of the map, not saved). */
  resultLayers = $state.raw<Array<DrawLayer & { kind: 'result' }>>([]);
  /** Step chosen per layer key this session (over the saved style's step). */
  #steps = $state.raw<Record<string, number>>({});
  /** The view each layer last drew, by key (held raw: big Float32 arrays are never proxied). */
  views = $state.raw<Map<string, RasterView>>(new Map());
  /** The map's projection: the project's CRS or Web Mercator. */
  projection = $state<'project' | 'EPSG:3857'>('project');
  /** Picked cells, oldest first. */
  identified = $state.raw<IdentifiedCell[]>([]);
  identifying = $state(false);
  /** A read error per layer key (null entries removed), shown in the layer list. */
  layerErrors = $state.raw<Record<string, string>>({});
  /** OpenLayers code of the projection the map view is in now (set by MapView). */
  viewProjection = $state('EPSG:3857');
  /** Clicks on the map identify cells (off while another tool, e.g. drawing, owns clicks). */
  identifyEnabled = $state(true);
  /** The OpenLayers map once MapView mounted it (raw: never proxied). */
  olMap = $state.raw<OlMap | null>(null);
  #chosenStack = $state<string | null>(null);
  #nextCell = 1;
  #saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** The debounced saves not yet sent, by key, and the ones sent whose answer has not come. */
  #pendingSaves = new Map<string, () => unknown>();
  #inflightSaves = new Set<Promise<unknown>>();

  constructor(readonly app: AppState) {
    // closing the project first sends what was edited just before (a style, the view, a step)
    app.beforeClose(() => this.flushSaves());
    // a refresh of the project's layers (after any change in main) keeps edits main has not answered yet
    app.keepUnsavedLayerEdits(() => this.#unsaved);
  }

  /** Layer fields edited here whose save main has not answered yet, and an edit count per layer. */
  #unsaved = new Map<number, Partial<LayerRecord>>();
  #edits = new Map<number, number>();

  /** The project's CRS (`EPSG:n`), null without a project or CRS. */
  get projectCrs(): string | null {
    return this.app.project?.crs ?? null;
  }

  /** The CRS of the map view: the project's when chosen and known, else Web Mercator. */
  get viewCrs(): string {
    return this.projection === 'project' && this.projectCrs ? this.projectCrs : 'EPSG:3857';
  }

  /** Drawable layers, bottom first: project rasters in their saved order, then result layers. */
  readonly layers = $derived.by<DrawLayer[]>(() => {
    const kinds = new Map(this.app.datasets.map((d) => [d.id, d.kind]));
    const project = [...this.app.layers]
      .filter((l) => RASTER_KINDS.has(kinds.get(l.datasetId) as DatasetRecord['kind']))
      .sort((a, b) => a.zOrder - b.zOrder || a.id - b.id)
      .map((l): DrawLayer => {
        const key = `layer:${l.id}`;
        const style = parseStyle(l.style);
        const step = this.#steps[key] ?? style.step;
        return {
          key,
          name: l.name,
          source: step ? { datasetId: l.datasetId, step } : { datasetId: l.datasetId },
          style,
          opacity: l.opacity,
          visible: l.visible,
          kind: 'project',
          layerId: l.id,
        };
      });
    const results = this.resultLayers.map((l) => {
      const step = this.#steps[l.key];
      if (step === undefined) return l;
      // a multi-band run output steps through its bands (band = step + 1)
      return { ...l, source: withStep(l.source, step) };
    });
    return [...project, ...results];
  });

  /** The stack the time slider drives: the one chosen, else the topmost visible layer with steps. */
  get activeStackKey(): string | null {
    const stacks = this.layers.filter((l) => l.visible && (this.views.get(l.key)?.steps ?? 1) > 1);
    if (this.#chosenStack && stacks.some((l) => l.key === this.#chosenStack)) return this.#chosenStack;
    return stacks.at(-1)?.key ?? null;
  }
  set activeStackKey(key: string | null) {
    this.#chosenStack = key;
  }

  /** Records the view a layer drew (RasterLayer's onView). */
  setView(key: string, view: RasterView): void {
    const first = !this.views.has(key);
    const next = new Map(this.views);
    next.set(key, view);
    this.views = next;
    // a run's result drawn for the first time where the map does not look: go there
    if (
      first &&
      this.resultLayers.some((l) => l.key === key) &&
      view.extent4326 &&
      !this.#inView(view.extent4326)
    )
      this.fitLonLat(view.extent4326);
  }

  /** Whether a lon/lat extent overlaps the map's current view. */
  #inView(e: [number, number, number, number]): boolean {
    const map = this.olMap;
    if (!map) return true;
    const view = map.getView();
    const size = map.getSize();
    if (!size) return true;
    try {
      const [x0, y0, x1, y1] = transformExtent(
        view.calculateExtent(size),
        view.getProjection(),
        'EPSG:4326',
      ) as [number, number, number, number];
      return !(e[2] < x0 || e[0] > x1 || e[3] < y0 || e[1] > y1);
    } catch {
      return true;
    }
  }

  /** Records (or clears, with null) a layer's read error. */
  setLayerError(key: string, message: string | null): void {
    if (message === null) {
      if (!(key in this.layerErrors)) return;
      const { [key]: _gone, ...rest } = this.layerErrors;
      this.layerErrors = rest;
    } else if (this.layerErrors[key] !== message) {
      this.layerErrors = { ...this.layerErrors, [key]: message };
    }
  }

  /**
   * Moves the time slider: `key` to `step`, and every other visible stack that has the same date to
   * that date (simulated, observed and observed - simulated of a run, or forcing stacks, stay on one day).
   */
  stepTo(key: string, step: number): void {
    this.setStep(key, step);
    const date = this.views.get(key)?.stepDates?.[step];
    if (!date) return;
    for (const l of this.layers) {
      if (l.key === key || !l.visible) continue;
      const dates = this.views.get(l.key)?.stepDates;
      const k = dates ? dates.indexOf(date) : -1;
      if (k >= 0 && k !== this.stepOf(l.key)) this.setStep(l.key, k);
    }
  }

  /** Shows step `step` of a stack layer (saved in the layer's style, debounced). */
  setStep(key: string, step: number): void {
    const steps = this.views.get(key)?.steps;
    const s = Math.max(0, Math.floor(step));
    if (steps !== undefined && s >= steps) return;
    this.#steps = { ...this.#steps, [key]: s };
    const layer = this.layers.find((l) => l.key === key);
    if (layer?.kind === 'project' && layer.layerId !== undefined) {
      const id = layer.layerId;
      // the layer's style when the save fires (a style edited meanwhile is kept)
      this.#debounce(key + ':step', 600, () => {
        const now = this.layers.find((l) => l.key === key) ?? layer;
        void this.#saveLayer(id, { style: { ...now.style, step: s } });
      });
    }
  }

  /** The step a layer shows. */
  stepOf(key: string): number {
    const l = this.layers.find((x) => x.key === key);
    if (!l) return 0;
    return 'datasetId' in l.source ? (l.source.step ?? 0) : (l.source.band ?? 1) - 1;
  }

  addResultLayer({ key, name, source, style }: ResultLayerInput): void {
    const layer = {
      key,
      name,
      source,
      style: style ?? {},
      opacity: 1,
      visible: true,
      kind: 'result' as const,
    };
    const i = this.resultLayers.findIndex((l) => l.key === key);
    this.resultLayers =
      i < 0 ? [...this.resultLayers, layer] : this.resultLayers.map((l, j) => (j === i ? layer : l));
  }

  removeResultLayer(key: string): void {
    this.resultLayers = this.resultLayers.filter((l) => l.key !== key);
    if (this.views.has(key)) {
      const next = new Map(this.views);
      next.delete(key);
      this.views = next;
    }
  }

  /** Changes a layer's style: saved for project layers, kept for result layers. */
  setStyle(key: string, style: LayerStyle): void {
    const layer = this.layers.find((l) => l.key === key);
    if (!layer) return;
    const clean = parseStyle(style);
    if (layer.kind === 'result') {
      this.resultLayers = this.resultLayers.map((l) => (l.key === key ? { ...l, style: clean } : l));
      return;
    }
    this.#patchLocal(layer.layerId!, { style: clean });
    this.#debounce(key + ':style', 300, () => this.#saveLayer(layer.layerId!, { style: clean }));
  }

  setOpacity(key: string, opacity: number): void {
    const o = Math.min(1, Math.max(0, opacity));
    const layer = this.layers.find((l) => l.key === key);
    if (!layer) return;
    if (layer.kind === 'result') {
      this.resultLayers = this.resultLayers.map((l) => (l.key === key ? { ...l, opacity: o } : l));
      return;
    }
    this.#patchLocal(layer.layerId!, { opacity: o });
    this.#debounce(key + ':opacity', 300, () => this.#saveLayer(layer.layerId!, { opacity: o }));
  }

  setVisible(key: string, visible: boolean): void {
    const layer = this.layers.find((l) => l.key === key);
    if (!layer) return;
    if (layer.kind === 'result') {
      this.resultLayers = this.resultLayers.map((l) => (l.key === key ? { ...l, visible } : l));
      return;
    }
    this.#patchLocal(layer.layerId!, { visible });
    void this.#saveLayer(layer.layerId!, { visible });
  }

  /** Sets the drawing order of the project layers (ids bottom to top). */
  async reorder(idsBottomToTop: number[]): Promise<void> {
    const all = [...this.app.layers].sort((a, b) => a.zOrder - b.zOrder || a.id - b.id).map((l) => l.id);
    const wanted = idsBottomToTop.filter((id) => all.includes(id));
    const ids = [...wanted, ...all.filter((id) => !wanted.includes(id))];
    // optimistic: the order shows at once, main's answer replaces it
    const pos = new Map(ids.map((id, i) => [id, i]));
    this.app.layers = this.app.layers.map((l) => ({ ...l, zOrder: pos.get(l.id) ?? l.zOrder }));
    await this.#guard(async () => {
      const answer = await api.datasets.reorderLayers({ ids });
      // main's order only: a style or opacity edited while the call was out is newer than its answer
      const z = new Map(answer.map((l) => [l.id, l.zOrder]));
      this.app.layers = this.app.layers.map((l) => ({ ...l, zOrder: z.get(l.id) ?? l.zOrder }));
    });
  }

  async removeLayer(layerId: number): Promise<void> {
    await this.#guard(async () => {
      await api.datasets.removeLayer({ id: layerId });
      this.app.layers = this.app.layers.filter((l) => l.id !== layerId);
    });
  }

  /** Imports a file or folder (raster, stack, NetCDF, gauges) and zooms to it. */
  async importPath(path: string): Promise<boolean> {
    return this.#guard(async () => {
      const d = await api.datasets.import({ path });
      await this.#refresh();
      this.zoomToDatasets([d]);
    });
  }

  /** Imports every raster of a folder as one layer each, and zooms to them. */
  async importFolder(path: string): Promise<boolean> {
    return this.#guard(async () => {
      const ds = await api.datasets.importFolder({ path });
      await this.#refresh();
      this.zoomToDatasets(ds);
    });
  }

  /** Fits the map to the lon/lat extents of datasets. */
  zoomToDatasets(datasets: DatasetRecord[]): void {
    const exts = datasets
      .map((d) => (d.grid as { extent4326?: unknown } | null)?.extent4326)
      .filter((e): e is [number, number, number, number] => Array.isArray(e) && e.length === 4);
    if (exts.length === 0) return;
    const e: [number, number, number, number] = [
      Math.min(...exts.map((x) => x[0])),
      Math.min(...exts.map((x) => x[1])),
      Math.max(...exts.map((x) => x[2])),
      Math.max(...exts.map((x) => x[3])),
    ];
    this.fitLonLat(e);
  }

  /** Fits the map to a lon/lat extent. */
  fitLonLat(e: [number, number, number, number]): void {
    const map = this.olMap;
    if (!map) return;
    const view = map.getView();
    try {
      const ext = transformExtent(e, 'EPSG:4326', view.getProjection());
      if (ext.every(Number.isFinite)) view.fit(ext, { padding: [40, 40, 40, 40], maxZoom: 14 });
    } catch {
      // an extent the projection cannot take: leave the view as it is
    }
  }

  /** Zooms to a layer's raster. */
  zoomToLayer(key: string): void {
    const v = this.views.get(key);
    if (v?.extent4326) return this.fitLonLat(v.extent4326);
    const l = this.layers.find((x) => x.key === key);
    const d =
      l && 'datasetId' in l.source
        ? this.app.datasets.find((x) => x.id === (l.source as { datasetId: number }).datasetId)
        : undefined;
    if (d) this.zoomToDatasets([d]);
  }

  /**
   * Values of every visible layer at a map coordinate (in the view's CRS), and the series of the
   * stack layers there; kept in `identified` next to earlier picks.
   */
  async identify(coordinate: [number, number], lonLat: [number, number] | null = null): Promise<void> {
    const visible = this.layers.filter((l) => l.visible);
    if (visible.length === 0) return;
    const point: MapPoint = { x: coordinate[0], y: coordinate[1], crs: this.viewCrs };
    const cell: IdentifiedCell = {
      id: this.#nextCell++,
      point,
      lonLat,
      results: [],
      series: [],
      error: null,
    };
    this.identifying = true;
    try {
      const [results, ...series] = await Promise.all([
        api.rasters.identify({ point, sources: visible.slice(-64).map((l) => l.source) }),
        ...visible
          .filter((l) => (this.views.get(l.key)?.steps ?? 1) > 1)
          .map(async (l) => {
            const s = l.source;
            const src = 'datasetId' in s ? { datasetId: s.datasetId } : { artifactId: s.artifactId };
            try {
              return { key: l.key, name: l.name, series: await api.rasters.series({ source: src, point }) };
            } catch {
              return null; // outside this stack: its row says so
            }
          }),
      ]);
      cell.results = results.map((r, i) => ({ ...r, name: visible.slice(-64)[i]?.name ?? r.name }));
      cell.series = series.filter((s): s is NonNullable<typeof s> => s !== null);
    } catch (err) {
      cell.error = errorMessage(err);
    } finally {
      this.identifying = false;
    }
    this.identified = [...this.identified, cell].slice(-MAX_CELLS);
  }

  removeIdentified(id: number): void {
    this.identified = this.identified.filter((c) => c.id !== id);
  }

  clearIdentified(): void {
    this.identified = [];
  }

  /** Forgets everything tied to the open project (on close/open). */
  resetForProject(): void {
    this.#unsaved.clear();
    this.#edits.clear();
    this.resultLayers = [];
    this.#steps = {};
    this.views = new Map();
    this.identified = [];
    this.layerErrors = {};
    this.#chosenStack = null;
  }

  #patchLocal(id: number, patch: Partial<LayerRecord>): void {
    this.#unsaved.set(id, { ...this.#unsaved.get(id), ...patch });
    this.#edits.set(id, (this.#edits.get(id) ?? 0) + 1);
    this.app.layers = this.app.layers.map((l) => (l.id === id ? { ...l, ...patch } : l));
  }

  async #saveLayer(
    id: number,
    patch: { visible?: boolean; opacity?: number; style?: LayerStyle; name?: string },
  ): Promise<void> {
    const edits = this.#edits.get(id) ?? 0;
    await this.#guard(async () => {
      const updated = await api.datasets.setLayer({ id, ...patch });
      // main now holds every edit made before this save was sent: none is left to keep over a refresh
      if ((this.#edits.get(id) ?? 0) === edits) this.#unsaved.delete(id);
      // keep what the user changed since (a later local edit wins until its own save answers)
      this.app.layers = this.app.layers.map((l) => (l.id === id ? { ...updated, ...pick(l, patch) } : l));
    });
  }

  #debounce(key: string, ms: number, fn: () => unknown): void {
    clearTimeout(this.#saveTimers.get(key));
    this.#pendingSaves.set(key, fn);
    this.#saveTimers.set(
      key,
      setTimeout(() => {
        this.#saveTimers.delete(key);
        this.#pendingSaves.delete(key);
        this.#send(fn);
      }, ms),
    );
  }

  #send(fn: () => unknown): Promise<unknown> {
    const p = Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    this.#inflightSaves.add(p);
    void p.finally(() => this.#inflightSaves.delete(p));
    return p;
  }

  /** Saves `fn` after `ms` without a newer call for the same key (the map view, a layer's style). */
  saveLater(key: string, ms: number, fn: () => unknown): void {
    this.#debounce(key, ms, fn);
  }

  /** Sends every debounced save now and waits for all answers (before the project closes). */
  async flushSaves(): Promise<void> {
    for (const t of this.#saveTimers.values()) clearTimeout(t);
    this.#saveTimers.clear();
    const now = [...this.#pendingSaves.values()];
    this.#pendingSaves.clear();
    for (const fn of now) this.#send(fn);
    await Promise.all([...this.#inflightSaves]);
  }

  async #refresh(): Promise<void> {
    this.app.datasets = await api.datasets.list({});
    this.app.layers = await api.datasets.layers({});
  }

  async #guard(fn: () => Promise<void>): Promise<boolean> {
    this.app.error = null;
    try {
      await fn();
      return true;
    } catch (err) {
      this.app.error = errorMessage(err);
      return false;
    }
  }
}

/** The fields of `l` named in `patch` (the local values). */
function pick(l: LayerRecord, patch: object): Partial<LayerRecord> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(patch)) out[k] = (l as unknown as Record<string, unknown>)[k];
  return out as Partial<LayerRecord>;
}
