import { ProjectStore } from '../../src-main/services/project/store';

/** Parameter GeoTIFF checksums of a run, by file name, from its project. */
export function tifSums(project: string, runId: number): Record<string, string> {
  const s = ProjectStore.open({ path: project });
  try {
    return Object.fromEntries(
      s.runs
        .detail(runId)
        .artifacts.filter((a) => a.kind === 'parameter-geotiff')
        .map((a) => [a.path.split('/').pop()!, a.checksum!]),
    );
  } finally {
    s.close();
  }
}
