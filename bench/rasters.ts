import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Grid } from '../src-shared/ipc';
import { openFolderStack } from '../src-main/services/rasters/stack';
import { writeGeoTiff } from '../src-main/services/rasters/writeGeoTiff';
import { tempDir } from '../tests/helpers/tmp';
import { machine, median, timeRuns } from './stats';

const STACK = 'resources/sample-data/lez/prcp';

/** Reading the 365-step Lez rainfall stack (ours vs gdal_translate of each file) and GeoTIFF export. */
export async function rastersBench(): Promise<Record<string, unknown>> {
  const tmp = tempDir('fieldcal-bench-');
  try {
    const openT = performance.now();
    const stack = await openFolderStack(STACK, { crs: 'EPSG:2154' });
    const openMs = performance.now() - openT;
    const cells = stack.grid.rows * stack.grid.cols * stack.steps.length;
    const reads = await timeRuns(3, async () => {
      for (let i = 0; i < stack.steps.length; i++) await stack.read(i);
    });
    const readMs = median(reads);

    let gdal: Record<string, unknown> = { available: false };
    if (spawnSync('gdal_translate', ['--version']).status === 0) {
      const files = stack.steps.map((s) => s.file);
      const t = performance.now();
      for (const f of files) execFileSync('gdal_translate', ['-q', '-of', 'GTiff', f, '/vsimem/x.tif']);
      const ms = performance.now() - t;
      gdal = {
        available: true,
        method: 'one gdal_translate process per file (process start-up included), as the issue asks',
        seconds: +(ms / 1000).toFixed(3),
        cells_per_s: Math.round(cells / (ms / 1000)),
      };
    }

    const big: Grid = {
      crs: 'EPSG:2154',
      x0: 0,
      y0: 256_000,
      dx: 1000,
      dy: 1000,
      rows: 256,
      cols: 256,
      mask: null,
    };
    const data = Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i / 300) * 100);
    let k = 0;
    const exportMs = median(
      await timeRuns(5, () =>
        writeGeoTiff({ path: join(tmp.dir, `e${k++}.tif`), grid: big, bands: [{ data, description: 'b' }] }),
      ),
    );
    return {
      machine: machine(),
      stack: { source: STACK, steps: stack.steps.length, grid: [stack.grid.cols, stack.grid.rows], cells },
      fieldcal: {
        open_headers_ms: +openMs.toFixed(1),
        read_all_steps_ms: +readMs.toFixed(1),
        cells_per_s: Math.round(cells / (readMs / 1000)),
        note: 'each step opens its file, decodes DEFLATE and applies nodata: the lazy path models use',
      },
      gdal,
      export_256x256_float32_deflate_ms: +exportMs.toFixed(2),
    };
  } finally {
    tmp.cleanup();
  }
}
