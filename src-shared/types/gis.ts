import { z } from 'zod';

/**
 * What the GIS workspace exchanges with main: rasters as binary Float32 views, identify and series
 * at a point, gauges and hydrographs, study areas, layer styles, the saved map view, loss history and
 * field export. Big arrays are typed arrays (structured clone in Electron, binary WebSocket frames in
 * the bridge), never JSON number lists.
 */

const id = z.number().int().positive();
const finite = z.number().finite();
/** `EPSG:n` or a proj4 string as a file carries it. */
const crs = z.string().min(1).max(4096);

/** A raster to draw: a dataset (raster band 1, or one step of a stack / NetCDF) or a run's output GeoTIFF (a band of it). */
export const rasterSourceSchema = z.union([
  z.strictObject({ datasetId: id, step: z.number().int().min(0).optional() }),
  z.strictObject({
    artifactId: id,
    band: z.number().int().min(1).optional(),
    /** Subtracts the same band of another GeoTIFF of the same grid (observed - simulated on a day). */
    minusArtifactId: id.optional(),
  }),
]);
export type RasterSource = z.infer<typeof rasterSourceSchema>;

/** Statistics of a raster's valid values at full resolution (percentiles for the 2–98 % stretch). */
export const rasterStatsSchema = z.object({
  count: z.number().int(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  p2: z.number().nullable(),
  p98: z.number().nullable(),
});
export type RasterStats = z.infer<typeof rasterStatsSchema>;

/** A raster as drawn: its values (NaN where nodata or inactive), row-major, north up, maybe block-averaged to fit `maxSize`. */
export const rasterViewSchema = z.object({
  name: z.string(),
  /** Size of `data`. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Size of the source raster. */
  sourceWidth: z.number().int().positive(),
  sourceHeight: z.number().int().positive(),
  /** CRS of `extent` (the file's); null when the file has none. */
  crs: z.string().nullable(),
  /** [minX, minY, maxX, maxY] in `crs`. */
  extent: z.tuple([finite, finite, finite, finite]),
  /** Lon/lat extent, when the CRS is known. */
  extent4326: z.tuple([finite, finite, finite, finite]).nullable(),
  data: z.instanceof(Float32Array),
  stats: rasterStatsSchema,
  units: z.string().nullable(),
  /** This step's date (stacks, NetCDF, dated bands), ISO YYYY-MM-DD. */
  date: z.string().nullable(),
  /** The step or band shown (0-based step; bands are 1-based in the source and 0-based here). */
  step: z.number().int().min(0),
  /** Number of steps (1 for a single raster). */
  steps: z.number().int().positive(),
  /** Every step's date (YYYY-MM-DD) when dated, for the time slider; null otherwise. */
  stepDates: z.array(z.string()).nullable(),
});
export type RasterView = z.infer<typeof rasterViewSchema>;

/** A point on the map in some CRS (the project's or EPSG:4326). */
export const pointSchema = z.strictObject({ x: finite, y: finite, crs });
export type MapPoint = z.infer<typeof pointSchema>;

/** The value of one raster at a point: the cell that holds it and its value from the file (null: nodata or outside). */
export const identifyResultSchema = z.object({
  source: rasterSourceSchema,
  name: z.string(),
  row: z.number().int().nullable(),
  col: z.number().int().nullable(),
  value: z.number().nullable(),
  units: z.string().nullable(),
  date: z.string().nullable(),
});
export type IdentifyResult = z.infer<typeof identifyResultSchema>;

/** A time series at one cell of a stack (or of a multi-band run output). */
export const seriesSchema = z.object({
  name: z.string(),
  row: z.number().int(),
  col: z.number().int(),
  dates: z.array(z.string()),
  values: z.instanceof(Float32Array),
  units: z.string().nullable(),
});
export type CellSeries = z.infer<typeof seriesSchema>;

/** A gauge of the project, with its position in its CRS and in lon/lat. */
export const gaugeRecordSchema = z.object({
  id: z.number().int(),
  datasetId: z.number().int().nullable(),
  code: z.string(),
  name: z.string().nullable(),
  x: z.number(),
  y: z.number(),
  crs: z.string().nullable(),
  lon: z.number().nullable(),
  lat: z.number().nullable(),
  areaKm2: z.number().nullable(),
});
export type GaugeRecord = z.infer<typeof gaugeRecordSchema>;

/** A period shaded on a hydrograph. */
export const shadedPeriodSchema = z.object({ name: z.string(), start: z.string(), end: z.string() });

/** Observed discharge, catchment rainfall and each run's simulation at a gauge, with scores. */
export const hydrographSchema = z.object({
  gaugeId: z.number().int(),
  code: z.string(),
  /** Daily dates (YYYY-MM-DD) of every series below. */
  dates: z.array(z.string()),
  /** m³/s; NaN where missing. */
  observed: z.instanceof(Float32Array),
  /** Catchment-mean rainfall above the gauge, mm per step; null when no prcp stack and flow directions are known. */
  rainfall: z.instanceof(Float32Array).nullable(),
  simulated: z.array(
    z.object({
      runId: z.number().int(),
      name: z.string(),
      values: z.instanceof(Float32Array),
      /** The run's calibration (and validation) periods. */
      periods: z.array(shadedPeriodSchema),
      /** Scores per period at this gauge, e.g. {calibration: {nse, kge}}. */
      scores: z.record(z.string(), z.record(z.string(), z.number().nullable())),
    }),
  ),
  units: z.string(),
});
export type Hydrograph = z.infer<typeof hydrographSchema>;

/** A study area of the project: a drawn or derived polygon and the CRS of its coordinates. */
export const studyAreaRecordSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  /** GeoJSON Polygon or MultiPolygon. */
  geometry: z.looseObject({ type: z.string() }),
  crs: z.string(),
  /** How it was made: drawn on the map, or the catchment above a gauge. */
  origin: z.enum(['drawn', 'catchment']),
  /** The gauge whose catchment it is. */
  gaugeCode: z.string().nullable(),
  /** Cells of the flow-direction grid inside it (catchments). */
  cells: z.number().int().nullable(),
  areaKm2: z.number().nullable(),
  createdAt: z.string(),
});
export type StudyAreaRecord = z.infer<typeof studyAreaRecordSchema>;

export const geometrySchema = z.looseObject({
  type: z.enum(['Polygon', 'MultiPolygon']),
  coordinates: z.array(z.unknown()).min(1),
});

/** How a raster layer is drawn (stored in the layer's style). */
export const layerStyleSchema = z.strictObject({
  colormap: z.enum(['viridis', 'cividis', 'magma', 'rdbu', 'precip']).optional(),
  /** 'percentile' (2–98 %), 'minmax', or 'manual' with min and max. */
  range: z.enum(['percentile', 'minmax', 'manual']).optional(),
  min: finite.optional(),
  max: finite.optional(),
  log: z.boolean().optional(),
  /** The stack step the layer shows. */
  step: z.number().int().min(0).optional(),
});
export type LayerStyle = z.infer<typeof layerStyleSchema>;

/** The map view saved in the project and restored on open. */
export const mapViewStateSchema = z.strictObject({
  /** 'project' (the project's CRS) or 'EPSG:3857'. */
  projection: z.enum(['project', 'EPSG:3857']),
  /** View centre in lon/lat. */
  center: z.tuple([finite, finite]),
  zoom: finite,
});
export type MapViewState = z.infer<typeof mapViewStateSchema>;

/** One recorded progress point of a run (the loss curve). */
export const progressPointSchema = z.object({
  iteration: z.number().int(),
  phase: z.string(),
  objective: z.number().nullable(),
  losses: z.record(z.string(), z.number()),
  at: z.string(),
});
export type ProgressPoint = z.infer<typeof progressPointSchema>;

/** A field a run can export: a parameter GeoTIFF (or the simulated target stack). */
export const exportableFieldSchema = z.object({
  artifactId: z.number().int(),
  name: z.string(),
  kind: z.string(),
  units: z.string().nullable(),
  bands: z.number().int(),
});
export type ExportableField = z.infer<typeof exportableFieldSchema>;
