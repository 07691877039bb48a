import type {
  JobSpecInput,
  AppInfo,
  CalibrationMethod,
  DatasetRecord,
  GaugeRecord,
  Hydrograph,
  JobProgress,
  LayerRecord,
  ProgressPoint,
  ProjectInfo,
  RunDetail,
  RunRecord,
  StudyAreaRecord,
  SweepRecord,
  SweepSpecInput,
} from '../../../../src-shared/ipc';
import { api, errorMessage, transport } from '../api';
import { mergeRunList, nowIso, RunTracker, upsertRun } from './runTracker';
import { StudyAreaEditor } from '../map/studyAreaEditor.svelte';

/** What the bottom dock shows: a gauge's hydrograph, a run's loss curve, or nothing. */
export type DockView = { kind: 'hydrograph'; gaugeId: number } | { kind: 'loss'; runId: number } | null;

/** The problem kind of a recorded run (its stored job spec), or null for CLI-recorded runs without one. */
export function runKind(run: RunRecord): string | null {
  const spec = (run.options as { spec?: { kind?: unknown } }).spec;
  return typeof spec?.kind === 'string' ? spec.kind : null;
}

/** App-wide state fed from main: info, the open project, its datasets, layers, gauges, study areas and runs. */
export class AppState {
  info = $state<AppInfo | null>(null);
  project = $state<ProjectInfo | null>(null);
  datasets = $state.raw<DatasetRecord[]>([]);
  layers = $state.raw<LayerRecord[]>([]);
  runs = $state.raw<RunRecord[]>([]);
  gauges = $state.raw<GaugeRecord[]>([]);
  studyAreas = $state.raw<StudyAreaRecord[]>([]);
  /** The calibration methods a job may name, with their options per problem kind. */
  methods = $state.raw<CalibrationMethod[]>([]);
  /** The latest progress of each running job, by run id. */
  progress = $state.raw<Record<number, JobProgress>>({});
  /** Each loaded run's loss curve: `jobs.history` at open, then the live progress points. */
  history = $state.raw<Record<number, ProgressPoint[]>>({});
  /** The run whose details (metrics, report) are shown. */
  selectedRun = $state.raw<RunDetail | null>(null);
  /** The gauge picked on the map or in the gauges list. */
  selectedGaugeId = $state<number | null>(null);
  /** The study area highlighted on the map (and chosen by default in the Calibrate panel). */
  selectedStudyAreaId = $state<number | null>(null);
  /** Runs ticked for comparison. */
  compareIds = $state.raw<number[]>([]);
  compareOpen = $state(false);
  dock = $state.raw<DockView>(null);
  error = $state<string | null>(null);
  busy = $state(false);
  /** The sweep whose children and table are shown (its parent run's id), or null. */
  sweepId = $state<number | null>(null);
  /** A model dataset the Calibrate panel should take (set by the dataset assembler's "Use in Calibrate"). */
  calibrateDatasetId = $state<number | null>(null);
  /** True once the first load from main has finished (tests and the UI wait for it). */
  loaded = $state(false);
  readonly transport = transport;
  /** The study area being drawn or edited (its map layer and interactions, undo / redo). */
  readonly areaEditor = new StudyAreaEditor();
  private tracker = new RunTracker();

  constructor() {
    api.project.onChanged(({ project }) => {
      const switched = project?.path !== this.project?.path;
      this.project = project;
      if (switched) this.resetSelection();
      void this.refreshProjectContent();
    });
    api.jobs.onProgress((p) => {
      this.progress = { ...this.progress, [p.runId]: p };
      const h = this.history[p.runId];
      if (h) {
        const point: ProgressPoint = {
          iteration: p.iteration,
          phase: p.phase,
          objective: p.objective,
          losses: p.losses,
          at: nowIso(),
        };
        this.history = { ...this.history, [p.runId]: [...h, point] };
      }
    });
    api.jobs.onStatus((run) => {
      this.tracker.event(run.id);
      this.runs = upsertRun(this.runs, run);
      if (run.status !== 'running' && run.status !== 'queued') {
        const { [run.id]: _done, ...rest } = this.progress;
        this.progress = rest;
        // a finished run's metrics and report are now recorded
        if (this.selectedRun?.id === run.id) void this.selectRun(run.id);
        // its simulation now shows in the hydrograph
        if (this.dock?.kind === 'hydrograph' && run.status === 'succeeded') void this.loadHydrograph();
      }
    });
  }

  /** Loads everything the shell shows. */
  async load(): Promise<void> {
    await this.guard(async () => {
      this.info = await api.appInfo.get({});
      this.methods = await api.jobs.methods({});
      this.project = await api.project.current({});
      await this.refreshProjectContent();
    });
    this.loaded = true;
  }

  async createProject(path: string, crs?: string): Promise<void> {
    await this.guard(async () => {
      this.project = await api.project.create(crs ? { path, crs } : { path });
      this.resetSelection();
    });
  }

  /** Imports a local file or folder (raster, stack, NetCDF, gauge folder) into the project. */
  async importDataset(path: string): Promise<void> {
    await this.guard(async () => {
      await api.datasets.import({ path });
      await this.refreshProjectContent();
    });
  }

  /** Reloads the project's datasets and layers (after `datasets.assemble`). */
  async refreshDatasets(): Promise<void> {
    if (!this.project) return;
    this.datasets = await api.datasets.list({});
    this.layers = await this.#freshLayers();
  }

  async openProject(path: string): Promise<void> {
    await this.guard(async () => {
      this.project = await api.project.open({ path });
      this.resetSelection();
    });
  }

  #beforeClose: Array<() => Promise<void>> = [];
  #unsavedLayerEdits: () => ReadonlyMap<number, Partial<LayerRecord>> | undefined = () => undefined;

  /** Where a refresh finds layer fields edited here and not yet saved by main (the map store's). */
  keepUnsavedLayerEdits(edits: () => ReadonlyMap<number, Partial<LayerRecord>>): void {
    this.#unsavedLayerEdits = edits;
  }

  /** Main's layers, with the fields edited here since and not yet saved laid over them. */
  async #freshLayers(): Promise<LayerRecord[]> {
    const fresh = await api.datasets.layers({});
    const unsaved = this.#unsavedLayerEdits();
    if (!unsaved?.size) return fresh;
    return fresh.map((l) => (unsaved.has(l.id) ? { ...l, ...unsaved.get(l.id) } : l));
  }

  /** Runs `flush` before the project closes (stores with debounced saves send them first). */
  beforeClose(flush: () => Promise<void>): void {
    this.#beforeClose.push(flush);
  }

  async closeProject(): Promise<void> {
    await this.guard(async () => {
      for (const flush of this.#beforeClose) await flush();
      await api.project.close({});
      this.project = null;
      this.resetSelection();
    });
  }

  async setLayerVisible(id: number, visible: boolean): Promise<void> {
    await this.guard(async () => {
      const updated = await api.datasets.setLayer({ id, visible });
      this.layers = this.layers.map((l) => (l.id === id ? updated : l));
    });
  }

  /** Queues a calibration job; the main process validates the spec in full (typed errors name the field). */
  async submitJob(spec: JobSpecInput): Promise<RunRecord | null> {
    let out: RunRecord | null = null;
    await this.guard(async () => {
      const token = this.tracker.begin();
      const run = await api.jobs.submit({ spec });
      // the queued reply must not hide a 'running' (or finished) status that already arrived
      if (this.tracker.fresh(token, run.id)) this.runs = upsertRun(this.runs, run);
      out = run;
      // the new run's loss curve fills from its first progress point
      this.history = { ...this.history, [run.id]: this.history[run.id] ?? [] };
    });
    return out;
  }

  /**
   * Starts a sweep (issue 18) and opens its view. Unlike `submitJob` it throws main's refusal, so the
   * Calibrate panel can place a `VALIDATION` error's issues next to their fields.
   */
  async startSweep(spec: SweepSpecInput): Promise<SweepRecord> {
    this.busy = true;
    this.error = null;
    try {
      const token = this.tracker.begin();
      const record = await api.jobs.sweep({ spec });
      this.sweepId = record.id;
      // the parent and its children are runs: the list shows them at once (status events then take over)
      const runs = await api.jobs.list({});
      this.runs = mergeRunList(this.runs, runs, this.tracker, token);
      return record;
    } finally {
      this.busy = false;
    }
  }

  /** Asks a running job to stop at its next iteration boundary. */
  async cancelJob(id: number): Promise<void> {
    await this.guard(async () => {
      await api.jobs.cancel({ id });
    });
  }

  /**
   * Resumes an interrupted run from its last checkpoint. The row shows 'queued' at once; main's
   * status events (queued, running, ...) then take over, and the reply never overwrites a newer one.
   */
  async resumeJob(id: number): Promise<void> {
    const before = this.runs.find((r) => r.id === id);
    const token = this.tracker.begin();
    if (before) this.runs = upsertRun(this.runs, { ...before, status: 'queued', error: null });
    await this.guard(async () => {
      try {
        const run = await api.jobs.resume({ id });
        if (this.tracker.fresh(token, id)) this.runs = upsertRun(this.runs, run);
        void this.loadHistory(id);
      } catch (err) {
        // refused: show the row as it was, unless main already said otherwise
        if (before && this.tracker.fresh(token, id)) this.runs = upsertRun(this.runs, before);
        throw err;
      }
    });
  }

  async selectRun(id: number | null): Promise<void> {
    if (id === null) {
      this.selectedRun = null;
      return;
    }
    await this.guard(async () => {
      const token = this.tracker.begin();
      const detail = await api.jobs.get({ id });
      this.selectedRun = detail;
      if (this.tracker.fresh(token, id)) {
        const { metrics: _m, artifacts: _a, ...record } = detail;
        this.runs = upsertRun(this.runs, record);
      }
    });
    void this.loadHistory(id);
  }

  /** Loads a run's recorded loss curve (`jobs.history`); live points are appended as they come. */
  async loadHistory(id: number): Promise<void> {
    try {
      const points = await api.jobs.history({ id });
      // points that streamed in during the call are newer than the recorded ones
      const live = (this.history[id] ?? []).filter((p) => p.iteration > (points.at(-1)?.iteration ?? -1));
      this.history = { ...this.history, [id]: [...points, ...live] };
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Ticks or unticks a run for comparison. */
  toggleCompare(id: number): void {
    this.compareIds = this.compareIds.includes(id)
      ? this.compareIds.filter((x) => x !== id)
      : [...this.compareIds, id];
    if (this.compareIds.length < 2) this.compareOpen = false;
  }

  // ---- gauges -------------------------------------------------------------------------------

  hydrograph = $state.raw<Hydrograph | null>(null);
  hydrographLoading = $state(false);

  /** Picks a gauge (map click or list row) and shows its hydrograph in the dock. */
  async selectGauge(id: number | null): Promise<void> {
    this.selectedGaugeId = id;
    if (id === null) {
      if (this.dock?.kind === 'hydrograph') this.dock = null;
      this.hydrograph = null;
      return;
    }
    this.dock = { kind: 'hydrograph', gaugeId: id };
    await this.loadHydrograph();
  }

  /** The runs whose simulations the hydrograph shows: the latest succeeded gauge runs (at most 16). */
  hydrographRunIds(): number[] {
    return this.runs
      .filter((r) => r.status === 'succeeded' && runKind(r) === 'gauges')
      .map((r) => r.id)
      .slice(-16);
  }

  async loadHydrograph(): Promise<void> {
    const id = this.selectedGaugeId;
    if (id === null) return;
    this.hydrographLoading = true;
    try {
      const h = await api.gauges.hydrograph({ gaugeId: id, runIds: this.hydrographRunIds() });
      if (this.selectedGaugeId === id) this.hydrograph = h;
    } catch (err) {
      this.error = errorMessage(err);
      if (this.selectedGaugeId === id) this.hydrograph = null;
    } finally {
      this.hydrographLoading = false;
    }
  }

  // ---- study areas --------------------------------------------------------------------------

  /** Saves a drawn study area (new when `id` is absent); returns it, or null when refused. */
  async saveStudyArea(
    name: string,
    geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown[] },
    crs: string,
    id?: number,
  ): Promise<StudyAreaRecord | null> {
    let out: StudyAreaRecord | null = null;
    await this.guard(async () => {
      const saved = await api.studyAreas.save(id ? { id, name, geometry, crs } : { name, geometry, crs });
      await this.refreshStudyAreas();
      this.selectedStudyAreaId = saved.id;
      out = saved;
    });
    return out;
  }

  async removeStudyArea(id: number): Promise<void> {
    await this.guard(async () => {
      await api.studyAreas.remove({ id });
      if (this.selectedStudyAreaId === id) this.selectedStudyAreaId = null;
      await this.refreshStudyAreas();
    });
  }

  /** Delineates the catchment above a gauge and saves it as a study area (selected). */
  async catchmentOf(gaugeId: number): Promise<StudyAreaRecord | null> {
    let out: StudyAreaRecord | null = null;
    await this.guard(async () => {
      const area = await api.studyAreas.catchment({ gaugeId });
      await this.refreshStudyAreas();
      this.selectedStudyAreaId = area.id;
      out = area;
    });
    return out;
  }

  async refreshStudyAreas(): Promise<void> {
    this.studyAreas = await api.studyAreas.list({});
  }

  private resetSelection(): void {
    this.selectedRun = null;
    this.selectedGaugeId = null;
    this.selectedStudyAreaId = null;
    this.hydrograph = null;
    this.compareIds = [];
    this.compareOpen = false;
    this.dock = null;
    this.history = {};
    this.sweepId = null;
  }

  private async refreshProjectContent(): Promise<void> {
    if (!this.project) {
      this.datasets = [];
      this.layers = [];
      this.runs = [];
      this.gauges = [];
      this.studyAreas = [];
      this.resetSelection();
      return;
    }
    this.datasets = await api.datasets.list({});
    this.layers = await this.#freshLayers();
    const token = this.tracker.begin();
    const runs = await api.jobs.list({});
    this.runs = mergeRunList(this.runs, runs, this.tracker, token);
    // gauges and study areas are shown when main has them; their absence never blocks the rest
    const [gauges, areas] = await Promise.allSettled([api.gauges.list({}), api.studyAreas.list({})]);
    if (gauges.status === 'fulfilled') this.gauges = gauges.value;
    if (areas.status === 'fulfilled') this.studyAreas = areas.value;
    const failed = [gauges, areas].find((r) => r.status === 'rejected');
    if (failed?.status === 'rejected') this.error = errorMessage(failed.reason);
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      await fn();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
    }
  }
}
