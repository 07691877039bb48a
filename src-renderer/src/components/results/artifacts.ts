import type { ArtifactRecord } from '../../../../src-shared/ipc';

/** A run's GeoTIFF outputs, grouped the way the run detail shows them on the map. */
export interface ArtifactGroups {
  /** Calibrated parameter fields (one band each). */
  parameters: ArtifactRecord[];
  /** The hidden truth of a twin experiment. */
  truth: ArtifactRecord[];
  /** The simulated target, one band per step. */
  simulated: ArtifactRecord[];
  /** Observed minus simulated fields. */
  residuals: ArtifactRecord[];
  /** Maps of a metric per cell (KGE, NSE, bias ...). */
  metrics: ArtifactRecord[];
  /** Any other GeoTIFF of the run. */
  other: ArtifactRecord[];
}

export const fileName = (p: string): string => p.split(/[\\/]/).pop() ?? p;
/** The field's name: the file name without .tif. */
export const fieldName = (a: ArtifactRecord): string => fileName(a.path).replace(/\.tiff?$/i, '');

export function groupArtifacts(artifacts: readonly ArtifactRecord[]): ArtifactGroups {
  const g: ArtifactGroups = {
    parameters: [],
    truth: [],
    simulated: [],
    residuals: [],
    metrics: [],
    other: [],
  };
  for (const a of artifacts) {
    if (!/\.tiff?$/i.test(a.path)) continue;
    const name = fieldName(a).toLowerCase();
    const kind = a.kind.toLowerCase();
    if (/obs.?minus.?sim|residual|diff/.test(kind) || /obs.?minus.?sim|residual/.test(name))
      g.residuals.push(a);
    else if (/metric/.test(kind) || /^(kge|nse|rmse|bias|cc|metric)[_-]/.test(name)) g.metrics.push(a);
    else if (kind === 'parameter-geotiff' && name.startsWith('truth_')) g.truth.push(a);
    else if (kind === 'parameter-geotiff' || kind.startsWith('parameter')) g.parameters.push(a);
    else if (/simulat/.test(kind) || name.startsWith('simulated')) g.simulated.push(a);
    else g.other.push(a);
  }
  return g;
}
