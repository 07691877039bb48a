import type { z } from 'zod';
import { dpl } from './dpl';
import { dplOptions } from './dpl/options';
import { perCellGradient } from './gradient/gridded';
import { gradientGriddedOptions } from './gradient/griddedOptions';
import type { MethodContext, MethodResult } from './gridded/context';
import { parseOptions } from './gridded/options';
import type { GriddedProblem } from './gridded/problem';
import { annRegionalization } from './hda-pr/gridded';
import { annGriddedOptions } from './hda-pr/griddedOptions';
import { sceUaMpr } from './sce-ua/gridded';
import { sceUaGriddedOptions } from './sce-ua/griddedOptions';

/** A calibration method on a gridded target: its strict options and its run. */
export interface GriddedMethodSpec<S extends z.ZodType = z.ZodType> {
  description: string;
  options: S;
  /** Whether it checkpoints and resumes (iterative training loops). */
  resumable: boolean;
  run(pr: GriddedProblem, options: z.output<S>, seed: number, ctx: MethodContext): MethodResult;
}

const spec = <S extends z.ZodType>(s: GriddedMethodSpec<S>) => s as unknown as GriddedMethodSpec;

/** Every gridded method by name; adding one is one folder plus one entry here. */
export const GRIDDED_METHODS = {
  'sce-ua': spec({
    description: 'SCE-UA (Duan et al. 1992) over MPR transfer-function coefficients',
    options: sceUaGriddedOptions,
    resumable: false,
    run: sceUaMpr,
  }),
  gradient: spec({
    description: 'per-cell parameters by L-BFGS on the exact adjoint gradient',
    options: gradientGriddedOptions,
    resumable: false,
    run: (pr, o, _seed, ctx) => perCellGradient(pr, o, ctx),
  }),
  ann: spec({
    description:
      'HDA-PR-style regionalization: ANN (or multi-linear) from descriptors, full batch through the adjoint',
    options: annGriddedOptions,
    resumable: true,
    run: annRegionalization,
  }),
  dpl: spec({
    description: 'dPL g_A (Tsai et al. 2021): network from descriptors, minibatches of cells x windows',
    options: dplOptions,
    resumable: true,
    run: dpl,
  }),
} satisfies Record<string, GriddedMethodSpec>;
export type GriddedMethod = keyof typeof GRIDDED_METHODS;
export const GRIDDED_METHOD_NAMES = Object.keys(GRIDDED_METHODS) as GriddedMethod[];

/** Validates the options of a method (strict, defaults filled): typed errors name the field. */
export function griddedOptions(method: GriddedMethod, input: unknown): Record<string, unknown> {
  return parseOptions(method, GRIDDED_METHODS[method].options, input) as Record<string, unknown>;
}

/** Runs a gridded method with validated options. */
export function runGriddedMethod(
  pr: GriddedProblem,
  method: GriddedMethod,
  options: unknown,
  seed: number,
  ctx: MethodContext,
): MethodResult {
  const m = GRIDDED_METHODS[method];
  return m.run(pr, griddedOptions(method, options), seed, ctx);
}
