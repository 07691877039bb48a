import { z } from 'zod';

/**
 * The dataset assembler's contract (issue 15): the user names what each input is, in any layout and
 * format, and main builds one model dataset from them (a folder with a `fieldcal-dataset.json`
 * manifest, readable by every method through the same loader as a smash-layout folder). Everything
 * here is checked before any file is read; main adds what needs the files (coverage, steps, units).
 */

/** File APIs cut a name at a NUL byte: a path holding one names another file than it shows. */
const path = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\u0000'), 'a path may not hold a NUL byte');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** A date with an optional time of day (UTC): `2012-08-01` or `2012-08-01T06:00`. */
const isoDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?$/, 'expected YYYY-MM-DD or YYYY-MM-DDTHH:MM');
/** `EPSG:n` or a proj4 string. */
const crs = z.string().min(1).max(4096);

/** Time steps a dataset or a source may have. Hourly and daily can be model steps; monthly only data steps. */
export const TIME_STEPS = ['hourly', 'daily', 'monthly'] as const;
export type TimeStep = (typeof TIME_STEPS)[number];
export const MODEL_STEPS = ['hourly', 'daily'] as const;
export type ModelStep = (typeof MODEL_STEPS)[number];
/** Seconds of a fixed step (monthly steps follow the calendar). */
export const STEP_SECONDS = { hourly: 3600, daily: 86400 } as const;

/**
 * How a folder of rasters is dated: `dated` (a date YYYYmmdd[HH[MM]] in each file name, smash's layout),
 * `day-of-year` (a climatology: one file per calendar day, `MMDD` in the name, e.g. `0229_pet.tif`, or
 * a 1..366 day number `doy045`), `month-of-year` (one file per calendar month, `MM` / `m01`..`m12`).
 */
export const FOLDER_LAYOUTS = ['dated', 'day-of-year', 'month-of-year'] as const;
export type FolderLayout = (typeof FOLDER_LAYOUTS)[number];

/**
 * A non-CF time axis (or a multi-band file without band dates): the user gives the first step's time
 * and the step; band / index k is at start + k steps (monthly: calendar months).
 */
export const explicitTimeSchema = z.strictObject({ start: isoDateTime, step: z.enum(TIME_STEPS) });
export type ExplicitTime = z.output<typeof explicitTimeSchema>;

/**
 * For a NetCDF variable whose dimensions are unnamed or not recognised: which of its dimensions is
 * time, y and x (by name or by position in the variable's dimension list).
 */
const dimRef = z.union([z.string().min(1).max(200), z.number().int().min(0).max(15)]);
export const netcdfDimsSchema = z.strictObject({ time: dimRef, y: dimRef, x: dimRef });

/** Where a time stack's values are: a folder of rasters, a multi-band raster, or a NetCDF variable. */
export const stackSourceSchema = z.discriminatedUnion('format', [
  z.strictObject({
    format: z.literal('folder'),
    path,
    layout: z.enum(FOLDER_LAYOUTS).default('dated'),
  }),
  z.strictObject({
    format: z.literal('multiband'),
    path,
    /** When the bands carry no dates. */
    time: explicitTimeSchema.optional(),
  }),
  z.strictObject({
    format: z.literal('netcdf'),
    path,
    variable: z.string().min(1).max(200).optional(),
    /** When the time axis is not CF "<unit> since <date>" (or missing). */
    time: explicitTimeSchema.optional(),
    dims: netcdfDimsSchema.optional(),
    /** CRS when the file has neither a grid_mapping nor geographic coordinates. */
    crs: crs.optional(),
  }),
]);
export type StackSource = z.output<typeof stackSourceSchema>;
export type StackSourceInput = z.input<typeof stackSourceSchema>;

/**
 * Units the assembler converts from, per quantity (to the model's: mm per model step, °C, mm per step
 * for discharge, m³/m³). `null`/absent = from the file's metadata (a NetCDF `units` attribute), or the
 * model's own unit when the file has none.
 */
export const FLUX_UNITS = [
  'mm', // per the source's step
  '0.1 mm', // per step (Météo-France SAFRAN/COMEPHORE style integers)
  'm', // per step (ERA5 tp, e)
  'mm/h',
  'mm/day',
  'kg m-2 s-1', // = mm/s (CF precipitation_flux)
] as const;
export const TEMPERATURE_UNITS = ['°C', 'K'] as const;
export const DISCHARGE_UNITS = ['m3/s', 'l/s', 'mm'] as const;
export const MOISTURE_UNITS = ['m3/m3', '%'] as const;

/** How a flux or state is brought to the model step: sums (fluxes) or means (states); disaggregation spreads evenly. */
export const TIME_RULES = ['sum', 'mean'] as const;
export type TimeRule = (typeof TIME_RULES)[number];

/** A forcing variable: precipitation, potential evapotranspiration or air temperature. */
export const forcingInputSchema = z.strictObject({
  variable: z.enum(['prcp', 'pet', 'temp']),
  source: stackSourceSchema,
  units: z.enum([...FLUX_UNITS, ...TEMPERATURE_UNITS]).optional(),
  /** Default: sum for prcp and pet, mean for temp. */
  rule: z.enum(TIME_RULES).optional(),
});

/** A static descriptor raster (any CRS and resolution; aligned onto the model grid). */
export const descriptorInputSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  path,
  /** Band of a multi-band file, 1-based. */
  band: z.number().int().min(1).default(1),
});

/** D8 flow directions: a GeoTIFF or an ESRI ASCII grid (.asc); the coding is detected unless named. */
export const flowdirInputSchema = z.strictObject({
  path,
  convention: z.enum(['auto', 'smash', 'esri']).default('auto'),
  /** CRS for a file that carries none (an .asc without .prj). */
  crs: crs.optional(),
});

/** Gauges: a smash folder (gauge_attributes.csv + qobs/) or a stations CSV with one series CSV per gauge or one wide CSV. */
export const gaugesInputSchema = z.discriminatedUnion('format', [
  z.strictObject({
    format: z.literal('smash'),
    path,
    units: z.enum(DISCHARGE_UNITS).default('m3/s'),
    /**
     * The step of the qobs files (they hold a start date and no step). Absent: their values are taken
     * at the model step, as smash reads them. Given: read at this step, then averaged (a finer step) or
     * spread evenly (a coarser one: discharge is a rate, each model step takes its step's mean).
     */
    step: z.enum(MODEL_STEPS).optional(),
  }),
  z.strictObject({
    format: z.literal('csv'),
    /** One row per gauge: code, x, y (in `crs`), area in km² (columns named below). */
    stations: path,
    columns: z
      .strictObject({
        code: z.string().min(1).default('code'),
        x: z.string().min(1).default('x'),
        y: z.string().min(1).default('y'),
        area: z.string().min(1).default('area'),
      })
      .default({ code: 'code', x: 'x', y: 'y', area: 'area' }),
    crs: crs.optional(),
    /** A folder of `<code>.csv` (date, value) or one CSV with a date column and one column per gauge code. */
    series: path,
    units: z.enum(DISCHARGE_UNITS).default('m3/s'),
  }),
]);

/** An observed field the gridded methods calibrate against, at its own step (monthly SM stays monthly). */
export const targetInputSchema = z.strictObject({
  variable: z.enum(['et', 'sm']),
  source: stackSourceSchema,
  units: z.enum([...FLUX_UNITS, ...MOISTURE_UNITS]).optional(),
});

/** What the model grid is built from. */
export const gridInputSchema = z.discriminatedUnion('from', [
  /** The grid of a raster (e.g. the flow directions or a descriptor), optionally cut to the catchment. */
  z.strictObject({ from: z.literal('raster'), path }),
  /** The catchment of the gauges on the flow directions' grid (cut to its bounding box). */
  z.strictObject({ from: z.literal('catchment') }),
  /** A drawn study area of the project (or GeoJSON) at a cell size, in a CRS. */
  z.strictObject({
    from: z.literal('study-area'),
    studyAreaId: z.number().int().positive().optional(),
    geometry: z.looseObject({ type: z.string() }).optional(),
    crs,
    cellSize: z.number().positive(),
  }),
]);

/** The resampling used to bring each raster onto the model grid (`auto`: nearest when resolutions match, average when coarsening, bilinear when refining). */
export const ALIGN_METHODS = ['auto', 'nearest', 'bilinear', 'average'] as const;

/**
 * An assembly: every input named by the user, the model grid, the model step and the period.
 * `out` defaults to `<project>-datasets/<name>` next to the project.
 */
export const assembleSpecSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(120)
      .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, 'letters, digits, space, _ . - only'),
    out: path.optional(),
    step: z.enum(MODEL_STEPS).default('daily'),
    start: isoDate,
    end: isoDate,
    crs: crs.optional(),
    grid: gridInputSchema.default({ from: 'catchment' }),
    align: z.enum(ALIGN_METHODS).default('auto'),
    forcing: z.array(forcingInputSchema).min(1).max(8),
    descriptors: z.array(descriptorInputSchema).max(64).default([]),
    flowdir: flowdirInputSchema,
    gauges: gaugesInputSchema.optional(),
    targets: z.array(targetInputSchema).max(2).default([]),
    /** Replace an existing dataset at `out` (otherwise refused). */
    overwrite: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if (s.end < s.start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end is before start' });
    for (const need of ['prcp', 'pet'] as const)
      if (!s.forcing.some((f) => f.variable === need))
        ctx.addIssue({ code: 'custom', path: ['forcing'], message: `a ${need} input is required` });
    s.forcing.forEach((f, i) => {
      if (s.forcing.findIndex((g) => g.variable === f.variable) < i)
        ctx.addIssue({
          code: 'custom',
          path: ['forcing', i, 'variable'],
          message: `${f.variable} given twice`,
        });
    });
    s.targets.forEach((t, i) => {
      if (s.targets.findIndex((g) => g.variable === t.variable) < i)
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'variable'],
          message: `${t.variable} given twice`,
        });
    });
    if (s.grid.from === 'catchment' && !s.gauges)
      ctx.addIssue({ code: 'custom', path: ['grid'], message: 'a catchment grid needs gauges' });
    const names = new Set<string>();
    s.descriptors.forEach((d, i) => {
      if (names.has(d.name))
        ctx.addIssue({ code: 'custom', path: ['descriptors', i, 'name'], message: `${d.name} given twice` });
      names.add(d.name);
    });
  });
export type AssembleSpec = z.output<typeof assembleSpecSchema>;
export type AssembleSpecInput = z.input<typeof assembleSpecSchema>;

/** What was done to one input, recorded in the manifest: the source, the conversion and the time rule. */
export const assembledInputSchema = z.object({
  role: z.string(),
  source: z.string(),
  format: z.string(),
  /** Units as read (declared or from metadata) and the factor/offset applied to reach the model unit. */
  unitsFrom: z.string().nullable(),
  unitsTo: z.string(),
  scale: z.number(),
  offset: z.number(),
  /** The source step and how it reached the model step (`none` when equal; `climatology` when expanded). */
  stepFrom: z.string(),
  timeRule: z.enum(['none', 'sum', 'mean', 'disaggregate', 'climatology', 'own-step']),
  /** Resampling onto the model grid. */
  align: z.enum(['same-grid', 'window', 'nearest', 'bilinear', 'average', 'curvilinear']),
});
export type AssembledInput = z.infer<typeof assembledInputSchema>;

/** What every dataset manifest says of itself after its format: version, name, step and span (ISO). */
const manifestHead = {
  version: z.literal(1),
  name: z.string(),
  step: z.enum(MODEL_STEPS),
  stepSeconds: z.number().int().positive(),
  start: z.string(),
  end: z.string(),
};

/** `fieldcal-dataset.json`: what a folder holds and how it was made. */
export const datasetManifestSchema = z.object({
  format: z.literal('fieldcal-dataset'),
  ...manifestHead,
  crs: z.string(),
  grid: z.object({
    x0: z.number(),
    y0: z.number(),
    dx: z.number(),
    dy: z.number(),
    rows: z.number().int(),
    cols: z.number().int(),
  }),
  /** Relative paths in the folder. */
  flowdir: z.string(),
  /** Targets and their own step: `{ sm: 'monthly' }` means sm/ holds one field per month. */
  targets: z.record(z.string(), z.enum(TIME_STEPS)),
  inputs: z.array(assembledInputSchema),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** What a source file or folder holds, for the assembler's form (no values read beyond headers). */
export const sourceProbeSchema = z.object({
  path: z.string(),
  format: z.enum(['geotiff', 'ascii-grid', 'folder', 'netcdf', 'csv']),
  /** NetCDF: each variable with its dimensions, shape, units and what each dimension was identified as. */
  variables: z
    .array(
      z.object({
        name: z.string(),
        dims: z.array(z.string()),
        shape: z.array(z.number().int()),
        units: z.string().nullable(),
        roles: z.array(z.enum(['time', 'y', 'x', 'unknown'])),
      }),
    )
    .default([]),
  crs: z.string().nullable(),
  grid: z.record(z.string(), z.unknown()).nullable(),
  steps: z.number().int().nullable(),
  step: z.enum([...TIME_STEPS, 'irregular', 'unknown']).nullable(),
  first: z.string().nullable(),
  last: z.string().nullable(),
  layout: z.enum(FOLDER_LAYOUTS).nullable(),
  /** CSV: the header's columns. */
  columns: z.array(z.string()).default([]),
  /** What could not be read or identified, for the form to show next to the input. */
  issues: z.array(z.string()).default([]),
});
export type SourceProbe = z.infer<typeof sourceProbeSchema>;

/**
 * A lumped basin CSV whose columns are named by the user (CAMELS-FR: `Ptot`, `Evap`, `Qmmd`, `Temp`),
 * with units, and an optional hypsometry (CemaNeige's elevation bands).
 */
export const lumpedColumnsSchema = z.strictObject({
  date: z.string().min(1).default('date'),
  P: z.string().min(1),
  PET: z.string().min(1),
  Q: z.string().min(1),
  T: z.string().min(1).optional(),
  units: z
    .strictObject({
      P: z.enum(FLUX_UNITS).default('mm'),
      PET: z.enum(FLUX_UNITS).default('mm'),
      Q: z.enum(DISCHARGE_UNITS).default('mm'),
      T: z.enum(TEMPERATURE_UNITS).default('°C'),
    })
    .default({ P: 'mm', PET: 'mm', Q: 'mm', T: '°C' }),
  /** Basin area (km²), needed when Q is in m3/s or l/s. */
  areaKm2: z.number().positive().optional(),
});
export type LumpedColumns = z.output<typeof lumpedColumnsSchema>;

/**
 * How a lumped CSV writes its dates. `auto`: ISO `YYYY-MM-DD[ HH:MM[:SS]]`, `YYYYMMDD[HH[MM]]` or
 * `DD/MM/YYYY` (the forms the gauge readers take); the others name the order of day, month and year.
 */
export const LUMPED_DATE_FORMATS = [
  'auto',
  'YYYY-MM-DD',
  'YYYYMMDD',
  'DD/MM/YYYY',
  'MM/DD/YYYY',
  'DD.MM.YYYY',
  'DD-MM-YYYY',
  'YYYY/MM/DD',
] as const;
export type LumpedDateFormat = (typeof LUMPED_DATE_FORMATS)[number];

/** A basin code: the name of its CSV in the dataset (letters, digits, _ . -). */
const basinCode = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only');

/** One lumped basin CSV of a lumped assembly: its columns and units, area and hypsometry. */
export const lumpedBasinInputSchema = z.strictObject({
  path,
  /** The basin's code (its CSV's name in the dataset); default the file name without its extension. */
  code: basinCode.optional(),
  /** The columns and their units (the lumped runs' own mapping); `areaKm2` when Q is in m3/s or l/s. */
  columns: lumpedColumnsSchema,
  dateFormat: z.enum(LUMPED_DATE_FORMATS).default('auto'),
  /** CemaNeige: the basin's 101 elevation quantiles (a table with a column per basin, or one column). */
  hypsometry: z.strictObject({ path, basin: z.string().min(1).max(200).optional() }).optional(),
});
export type LumpedBasinInput = z.output<typeof lumpedBasinInputSchema>;

/** The code a lumped basin input gets: its `code`, else its file name without the extension. */
export const lumpedBasinCode = (b: { path: string; code?: string | undefined }): string =>
  b.code ??
  (b.path
    .split(/[\\/]/)
    .pop()
    ?.replace(/\.[^.]*$/, '') ||
    b.path);

/**
 * A lumped assembly (issue 15): one or many basin CSVs, their columns mapped by the user with
 * units, saved as a dataset of the project in the form the lumped and basins runs read (one
 * `<code>.csv` per basin with `date,P,E,Qmm[,T]` in mm per step and °C, `catchments.csv`,
 * `hypsometry.csv`) with a manifest recording the mapping and the conversions.
 */
export const lumpedAssembleSpecSchema = z
  .strictObject({
    kind: z.literal('lumped'),
    name: z
      .string()
      .min(1)
      .max(120)
      .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, 'letters, digits, space, _ . - only'),
    out: path.optional(),
    basins: z.array(lumpedBasinInputSchema).min(1).max(2000),
    overwrite: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    const seen = new Map<string, { i: number; code: string }>();
    s.basins.forEach((b, i) => {
      const code = lumpedBasinCode(b);
      if (!basinCode.safeParse(code).success)
        ctx.addIssue({
          code: 'custom',
          path: ['basins', i, 'code'],
          message: `"${code}" (from the file name) is not a basin code (letters, digits, _ . -); give a code`,
        });
      // one CSV per code: on case-insensitive file systems (macOS, Windows) A1.csv and a1.csv are one file
      const key = code.toLowerCase();
      const prev = seen.get(key);
      if (prev !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['basins', i, 'code'],
          message:
            prev.code === code
              ? `basin ${code} given twice (basins[${prev.i}])`
              : `basin ${code} is basins[${prev.i}]'s ${prev.code} on a case-insensitive file system: give another code`,
        });
      seen.set(key, { i, code });
    });
  });
export type LumpedAssembleSpec = z.output<typeof lumpedAssembleSpecSchema>;
export type LumpedAssembleSpecInput = z.input<typeof lumpedAssembleSpecSchema>;

/** What was done to one column of a basin CSV: its role, source column, units and conversion. */
export const lumpedConversionSchema = z.object({
  role: z.enum(['P', 'PET', 'Q', 'T']),
  column: z.string(),
  unitsFrom: z.string(),
  unitsTo: z.string(),
  /** model = value · scale + offset */
  scale: z.number(),
  offset: z.number(),
});

/** `fieldcal-dataset.json` of a lumped dataset: its basins, where each came from and how it was mapped. */
export const lumpedManifestSchema = z.object({
  format: z.literal('fieldcal-lumped-dataset'),
  /** start and end: the earliest and latest date of any basin */
  ...manifestHead,
  basins: z.array(
    z.object({
      code: z.string(),
      /** The canonical CSV, relative to the folder. */
      file: z.string(),
      source: z.string(),
      rows: z.number().int().positive(),
      first: z.string(),
      last: z.string(),
      /** Rows whose discharge is missing (kept empty). */
      qMissing: z.number().int().min(0),
      areaKm2: z.number().positive().nullable(),
      dateColumn: z.string(),
      dateFormat: z.enum(LUMPED_DATE_FORMATS),
      conversions: z.array(lumpedConversionSchema),
      /** The hypsometry's source file and column, copied into `hypsometry.csv`. */
      hypsometry: z.object({ source: z.string(), basin: z.string().nullable() }).nullable(),
    }),
  ),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type LumpedManifest = z.infer<typeof lumpedManifestSchema>;
