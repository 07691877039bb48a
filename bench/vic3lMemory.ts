// Child process of the model bench: a 10-year daily vic3l run of 10,000 cells, forward and exact
// gradient of an ET loss, reporting its own peak memory. Run alone so its RSS is its own.
import { vic3lWithGradient } from '../src-main/services/physics/vic3l';
import { shiftedVic3lCase } from './stats';
import { readBasinObs } from '../tests/helpers/airgr';

const cells = 10_000;
const steps = 3650;
const d = readBasinObs();
const base = d.dates.indexOf('1985-01-01');
// forcing stored as Float32 (the product's precision for inputs): real L0123001 series shifted per cell
const { forcing, params } = shiftedVic3lCase(d, base, cells, steps, 200);
const { P, PET, T } = forcing;
const forcingBytes = P.byteLength + PET.byteLength + T.byteLength;
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
let sumEt = 0;
const tapeBytes = 64 * 2 ** 20;
const r = vic3lWithGradient(
  params,
  { P, PET, T },
  steps,
  {
    // loss: Σ ET (cotangent 1 everywhere): the memory pattern of any per-step ET objective
    forward(_t, out) {
      for (let c = 0; c < cells; c++) sumEt += out.ET[c]!;
    },
    // the cotangents read no output: the tape keeps the states alone
    reads: [],
    backward(_t, _o, g) {
      g.ET.fill(1);
    },
  },
  { precision: 'float32', tapeBytes },
);
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  JSON.stringify({
    cells,
    steps,
    seconds: +seconds.toFixed(1),
    cell_steps_per_s_forward_plus_adjoint: Math.round((cells * steps) / seconds),
    segments: r.segments,
    segment_steps: r.segmentSteps,
    tape_budget_mb: tapeBytes / 2 ** 20,
    forcing_mb: Math.round(forcingBytes / 2 ** 20),
    rss_before_model_mb: Math.round(rssBefore / 2 ** 20),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    mean_et_mm_per_day: +(sumEt / (cells * steps)).toFixed(4),
    mean_dL_dDsmax: +(r.gradient.Dsmax.reduce((a, b) => a + b, 0) / cells).toFixed(4),
  }),
);
