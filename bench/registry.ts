import { ipcBench } from './ipc';
import { rastersBench } from './rasters';
import { metricsBench } from './metrics';
import { modelBench } from './model';
import { calibrateBench } from './calibrate';
import { trainStepBench } from './trainStep';
import { ganPoPaperBench } from './ganPoPaper';
import { uiBench } from './ui';
import { camelsBench } from './camels';
import { surrogateBench } from './surrogate';
import { ensembleBench } from './ensemble';
import { sweepBench } from './sweep';
import { inverseMappingBench } from './inverseMapping';
import { bucketNexusBench } from './bucketNexus';
import { kgsslBench } from './kgssl';

/** Every benchmark by name; adding one is one file plus one line here. */
export const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  ipc: ipcBench,
  rasters: rastersBench,
  metrics: metricsBench,
  model: modelBench,
  calibrate: calibrateBench,
  'train-step': trainStepBench,
  'gan-po-paper': ganPoPaperBench,
  ui: uiBench,
  camels: camelsBench,
  surrogate: surrogateBench,
  ensemble: ensembleBench,
  sweep: sweepBench,
  'inverse-mapping': inverseMappingBench,
  'bucket-nexus': bucketNexusBench,
  kgssl: kgsslBench,
};
