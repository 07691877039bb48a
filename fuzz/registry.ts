import { socketFuzz } from './socket';
import { geotiffFuzz } from './geotiff';
import { netcdfFuzz } from './netcdf';
import { gaugesFuzz } from './gauges';
import { csvFuzz } from './csv';
import { killFuzz } from './kill';
import { loadSoak } from './load';

/** What every fuzzer reports: counts by outcome (crashes and hangs must be 0), plus anything it measured. */
export interface FuzzReport {
  inputs: number;
  crashes: number;
  hangs: number;
  peakRssMB: number;
  [key: string]: unknown;
}

/** A fuzzer: runs `count` seeded inputs (same seed, same inputs) and reports what happened. */
export type Fuzzer = (count: number, seed: number) => Promise<FuzzReport>;

/** Every fuzzer by name; adding one is one file plus one line here. */
export const fuzzers: Record<string, Fuzzer> = {
  socket: socketFuzz,
  geotiff: geotiffFuzz,
  netcdf: netcdfFuzz,
  gauges: gaugesFuzz,
  csv: csvFuzz,
  kill: killFuzz,
  load: loadSoak,
};
