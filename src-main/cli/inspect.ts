import type { Command } from 'commander';
import { FieldcalError } from '../../src-shared/ipc';
import { TIME_STEPS, type ExplicitTime } from '../../src-shared/types/assemble';
import {
  inspectGeoTiff,
  inspectNetcdf,
  netcdfXyzLines,
  xyzLines,
  type NetcdfInspectOptions,
  type NetcdfSummary,
  type RasterSummary,
} from '../services/rasters/inspect';
import { formatG } from '../services/rasters/format';
import { openStack, sourceKind, summariseStack } from '../services/rasters/open';

/** gdalinfo-like text for a raster summary. */
export function formatRasterSummary(s: RasterSummary): string {
  const gt = s.geoTransform;
  const crs =
    s.crs.epsg !== null
      ? `EPSG:${s.crs.epsg}`
      : s.crs.userDefined
        ? `user-defined: ${s.crs.proj4 ?? '(unreadable)'}`
        : 'none (the project CRS will be used)';
  const lines = [
    `Driver: GTiff`,
    `File: ${s.file}`,
    `Size is ${s.size[0]}, ${s.size[1]}`,
    `Coordinate system: ${crs}${s.crs.name ? ` (${s.crs.name})` : ''}`,
    `Origin = (${formatG(gt[0], 15)},${formatG(gt[3], 15)})`,
    `Pixel Size = (${formatG(gt[1], 15)},${formatG(gt[5], 15)})`,
    ...(gt[2] !== 0 || gt[4] !== 0 ? [`Rotation = (${formatG(gt[2], 15)},${formatG(gt[4], 15)})`] : []),
    `AREA_OR_POINT=${s.areaOrPoint}`,
    `Compression=${s.compression}, ${s.tiled ? 'tiled' : 'striped'} ${s.block[0]}x${s.block[1]}`,
    ...Object.entries(s.metadata).map(([k, v]) => `  ${k}=${v}`),
  ];
  for (const b of s.bands) {
    lines.push(`Band ${b.band} Type=${b.type}${b.description ? ` Description=${b.description}` : ''}`);
    if (b.noDataValue !== null) lines.push(`  NoData Value=${formatG(b.noDataValue, 17)}`);
    if (b.scale !== 1 || b.offset !== 0) lines.push(`  Offset: ${b.offset},   Scale:${b.scale}`);
    lines.push(
      b.validCount === 0
        ? '  no valid cells'
        : `  Minimum=${formatG(b.minimum!, 10)}, Maximum=${formatG(b.maximum!, 10)}, Mean=${formatG(b.mean!, 10)}, StdDev=${formatG(b.stdDev!, 10)}, valid ${formatG(b.validPercent, 6)}%`,
    );
  }
  return lines.join('\n');
}

/** Text summary of a time stack. */
function formatStackSummary(s: Record<string, unknown>): string {
  const g = s.grid as {
    cols: number;
    rows: number;
    x0: number;
    y0: number;
    dx: number;
    dy: number;
    crs: string | null;
  };
  const gaps = s.gaps as Array<{ after: string; before: string; missing: number }>;
  const st = s.statistics as { minimum: number; maximum: number; mean: number; validPercent: number } | null;
  return [
    `Stack (${String(s.kind)}): ${String(s.source)}`,
    `Size is ${g.cols}, ${g.rows}; origin (${g.x0}, ${g.y0}); cell ${g.dx} x ${g.dy}; CRS ${g.crs ?? 'none (the project CRS will be used)'}`,
    `Steps: ${String(s.steps)} from ${String(s.first)} to ${String(s.last)}, every ${String(s.stepSeconds)} s${s.units ? `; units ${String(s.units)}` : ''}`,
    gaps.length
      ? `Gaps: ${gaps.map((x) => `${x.missing} missing after ${x.after}`).join('; ')}`
      : 'Gaps: none',
    st
      ? `Minimum=${formatG(st.minimum, 10)}, Maximum=${formatG(st.maximum, 10)}, Mean=${formatG(st.mean, 10)}, valid ${formatG(st.validPercent, 6)}%`
      : 'no valid values',
  ].join('\n');
}

/** Text summary of a NetCDF variable: its dimensions' roles, then the stack. */
function formatNetcdfSummary(s: NetcdfSummary): string {
  const vars = s.variables.map(
    (v) =>
      `  ${v.name}(${v.dims.map((d, i) => `${d}=${v.shape[i]}${v.roles[i] !== 'unknown' ? ` ${v.roles[i]}` : ''}`).join(', ')})${v.units ? ` [${v.units}]` : ''}`,
  );
  return [
    'Driver: netCDF',
    'Variables:',
    ...vars,
    formatStackSummary({ ...s, statistics: s.statistics } as unknown as Record<string, unknown>),
    ...(s.curvilinear
      ? ['Curvilinear: cells placed by 2-D longitude/latitude (the size and box above are in degrees)']
      : []),
    ...s.bands.map((b) =>
      b.validCount === 0
        ? `Band ${b.band} (${b.time}): no valid cells`
        : `Band ${b.band} (${b.time}): Minimum=${formatG(b.minimum!, 10)}, Maximum=${formatG(b.maximum!, 10)}, Mean=${formatG(b.mean!, 10)}, StdDev=${formatG(b.stdDev!, 10)}, valid ${formatG(b.validPercent, 6)}%`,
    ),
  ].join('\n');
}

/** The NetCDF options of the command line. */
function netcdfOptions(o: {
  variable?: string;
  start?: string;
  step?: string;
  dims?: string;
  crs?: string;
}): NetcdfInspectOptions {
  const opts: NetcdfInspectOptions = {};
  if (o.variable) opts.variable = o.variable;
  if (o.crs) opts.crs = o.crs;
  if (o.start || o.step) {
    if (!o.start || !o.step || !(TIME_STEPS as readonly string[]).includes(o.step))
      throw new FieldcalError(
        'VALIDATION',
        `--start and --step go together; --step is one of ${TIME_STEPS.join(', ')}`,
        {
          field: 'step',
        },
      );
    opts.time = { start: o.start, step: o.step as ExplicitTime['step'] };
  }
  if (o.dims) {
    const parts = o.dims.split(',').map((p) => p.trim());
    if (parts.length !== 3 || parts.some((p) => !p))
      throw new FieldcalError('VALIDATION', `--dims takes time,y,x (names or positions), not ${o.dims}`, {
        field: 'dims',
      });
    const ref = (p: string) => (/^\d+$/.test(p) ? Number(p) : p);
    opts.dims = { time: ref(parts[0]!), y: ref(parts[1]!), x: ref(parts[2]!) };
  }
  return opts;
}

/** `fieldcal inspect PATH [--json] [--values] [--band N]`. */
export function addInspectCommand(program: Command): void {
  program
    .command('inspect')
    .argument('<path>', 'a GeoTIFF, a folder of dated GeoTIFFs (a time stack) or a NetCDF file')
    .description(
      'summarise a raster like gdalinfo; --values prints every cell as `x y value` like gdal_translate -of XYZ',
    )
    .option('--json', 'print the summary as JSON')
    .option('--values', 'print x y value at every cell centre')
    .option('--band <n>', 'band for --values (1-based; a NetCDF time step)', (v) => Number(v), 1)
    .option('--variable <name>', 'NetCDF: the variable (default: the first data variable)')
    .option('--start <date>', 'NetCDF: the first step of a time axis that is not CF (YYYY-MM-DD[THH:MM])')
    .option('--step <step>', 'NetCDF: the step of that time axis: hourly, daily or monthly')
    .option('--dims <time,y,x>', 'NetCDF: which dimensions are time, y and x (names or positions)')
    .option('--crs <crs>', 'NetCDF: the CRS when the file has no grid_mapping (EPSG:n or proj4)')
    .action(
      async (
        path: string,
        o: {
          json?: boolean;
          values?: boolean;
          band: number;
          variable?: string;
          start?: string;
          step?: string;
          dims?: string;
          crs?: string;
        },
      ) => {
        if ((await sourceKind(path)) === 'netcdf') {
          const opts = netcdfOptions(o);
          if (o.values) {
            for await (const chunk of netcdfXyzLines(path, o.band - 1, opts)) {
              if (!process.stdout.write(`${chunk}\n`))
                await new Promise((r) => process.stdout.once('drain', r));
            }
            return;
          }
          const s = await inspectNetcdf(path, opts);
          process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatNetcdfSummary(s)}\n`);
          return;
        }
        if (o.values) {
          for await (const chunk of xyzLines(path, o.band - 1)) {
            if (!process.stdout.write(`${chunk}\n`))
              await new Promise((r) => process.stdout.once('drain', r));
          }
          return;
        }
        if ((await sourceKind(path)) !== 'raster') {
          const s = await summariseStack(await openStack(path));
          process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStackSummary(s)}\n`);
          return;
        }
        const s = await inspectGeoTiff(path);
        process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatRasterSummary(s)}\n`);
      },
    );
}
