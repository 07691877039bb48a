import type { RunMetric } from '../../src-shared/ipc';
import { artifactOf } from '../services/common/checksum';
import { ProjectStore } from '../services/project/store';
import { openOrCreateProject } from './twin';

/** What a CLI run leaves to record: its metrics and the files it wrote, by artifact kind. */
export interface RunOutcome {
  metrics: RunMetric[];
  files: Array<{ kind: string; path: string }>;
}

/**
 * Runs `work` as a run recorded in a project (`--project` of calibrate and evaluate): the project
 * opens first, so a bad project file fails before any work; the run is created as running, and its
 * metrics, artifacts (size and checksum) and final status are written in one transaction when the
 * work ends, or its failure with the message. Without a project the work just runs. The project is
 * opened as a `recorder`, so this works while the app or `fieldcal serve` has it open.
 */
export async function recordedRun<T>(
  project: { path: string; create: boolean } | undefined,
  run: { name: string; method: string; options: Record<string, unknown>; seed: number },
  work: () => Promise<T>,
  outcome: (result: T) => RunOutcome,
): Promise<{ result: T; runId: number | null }> {
  if (!project) return { result: await work(), runId: null };
  // a recorder: the project may be open in the app or `fieldcal serve` meanwhile; this command only
  // appends its own run (each write one transaction) and never touches the owner's runs
  const store = project.create
    ? openOrCreateProject(project.path, 'recorder')
    : ProjectStore.open({ path: project.path, role: 'recorder' });
  try {
    const { id } = store.runs.create(run);
    store.runs.setStatus(id, 'running');
    let result: T;
    try {
      result = await work();
    } catch (err) {
      store.runs.setStatus(id, 'failed', (err as Error).message);
      throw err;
    }
    const o = outcome(result);
    const artifacts = await Promise.all(o.files.map((f) => artifactOf(f.kind, f.path)));
    store.transaction(() => {
      store.runs.addMetrics(id, o.metrics);
      for (const a of artifacts) store.runs.addArtifact({ runId: id, ...a });
      store.runs.setStatus(id, 'succeeded');
    });
    return { result, runId: id };
  } finally {
    store.close();
  }
}
