import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc/errors';
import { sweepSpecSchema, type JobSpecInput } from '../../../src-shared/ipc';
import { fieldsOf, initialValues } from '../../../src-renderer/src/components/calibration/schemaForm';
import { methodOptions, methodOptionsSchema } from '../../../src-main/services/calibration/registry';
import {
  buildSweep,
  childCount,
  defaultMode,
  emptySweepForm,
  parseAxisValues,
  parseDatasets,
  parseSeeds,
  placeSweepError,
  splitList,
  sweepableFields,
  type SweepForm,
} from '../../../src-renderer/src/components/calibration/sweepForm';

// GAN-PO-like options as jobs.methods converts them (zod's JSON Schema, input side)
const fields = fieldsOf(
  z.toJSONSchema(
    z.strictObject({
      lambdaL: z.number().positive().max(1000).default(1),
      lambdaR: z.number().min(0).max(100).default(0.1),
      epochs: z.number().int().min(1).max(10_000).default(50),
      objective: z.enum(['spatial-rmse', 'cell-mse']).default('spatial-rmse'),
      shuffle: z.boolean().default(true),
      hidden: z.array(z.number().int()).default([16, 16]),
    }),
    { io: 'input', unrepresentable: 'any' },
  ) as Record<string, unknown>,
);
const base: JobSpecInput = {
  kind: 'twin',
  method: 'gan-po',
  seed: 1,
  options: {},
  twin: { rows: 5, cols: 5 },
};
const form = (over: Partial<SweepForm> = {}): SweepForm => ({ ...emptySweepForm('twin', 'gan-po'), ...over });

describe('the sweep form', () => {
  it('offers numbers, enums and booleans to sweep, never lists', () => {
    expect(sweepableFields(fields).map((f) => f.name)).toEqual([
      'lambdaL',
      'lambdaR',
      'epochs',
      'objective',
      'shuffle',
    ]);
  });

  it('splits value lists on commas, semicolons and spaces', () => {
    expect(splitList(' 0.1, 1 ;10  100,,')).toEqual(['0.1', '1', '10', '100']);
    expect(splitList('  ')).toEqual([]);
  });

  it("parses an option's values with the option's own bounds", () => {
    const lambdaL = fields.find((f) => f.name === 'lambdaL')!;
    const epochs = fields.find((f) => f.name === 'epochs')!;
    const objective = fields.find((f) => f.name === 'objective')!;
    const shuffle = fields.find((f) => f.name === 'shuffle')!;
    expect(parseAxisValues(lambdaL, '0.1, 1, 10')).toEqual({ values: [0.1, 1, 10] });
    expect(parseAxisValues(lambdaL, '0, 1').error).toBe('0: must be greater than 0');
    expect(parseAxisValues(lambdaL, '1, x').error).toBe('x: expected a number');
    expect(parseAxisValues(lambdaL, '1, 1.0').error).toBe('1.0 is listed twice');
    expect(parseAxisValues(epochs, '2, 2.5').error).toBe('2.5: must be a whole number');
    expect(parseAxisValues(objective, 'cell-mse, spatial-rmse')).toEqual({
      values: ['cell-mse', 'spatial-rmse'],
    });
    expect(parseAxisValues(objective, 'mse').error).toBe('mse: expected one of spatial-rmse, cell-mse');
    expect(parseAxisValues(shuffle, 'true false')).toEqual({ values: [true, false] });
    expect(parseAxisValues(shuffle, 'yes').error).toBe('yes: expected true or false');
    expect(parseAxisValues(lambdaL, ' ').error).toBe('list at least one value');
  });

  it('parses seeds and seed ranges, refusing fractions and repeats', () => {
    expect(parseSeeds('1, 2, 5..7')).toEqual({ values: [1, 2, 5, 6, 7] });
    expect(parseSeeds('-2..1')).toEqual({ values: [-2, -1, 0, 1] });
    expect(parseSeeds('')).toEqual({ values: [] });
    expect(parseSeeds('1.5').error).toMatch(/^1\.5: a seed is a whole number/);
    expect(parseSeeds('4..2').error).toBe('4..2: the range ends before it starts');
    expect(parseSeeds('1, 2, 1..3').error).toBe('seed 1 is listed twice');
    expect(parseSeeds('0..5000').error).toBe('0..5000: at most 1000 seeds');
  });

  it('reads one dataset a line, keeping commas and spaces inside paths', () => {
    expect(parseDatasets('/data/a b, c\n\n  /data/d  \n')).toEqual({ values: ['/data/a b, c', '/data/d'] });
    expect(parseDatasets('/x\n/x').error).toBe('/x is listed twice');
  });

  it('counts the children as the product of the lists', () => {
    expect(childCount({ a: [1, 2, 3], b: [1, 2] }, 4, 0)).toBe(24);
    expect(childCount({}, 0, 5)).toBe(5);
    expect(childCount({}, 0, 0)).toBe(1);
  });

  it('minimises error metrics and maximises skill scores by default', () => {
    expect(defaultMode('spatialRmse')).toBe('min');
    expect(defaultMode('medianCellRmse')).toBe('min');
    expect(defaultMode('nse')).toBe('max');
    expect(defaultMode('medianCellKge')).toBe('max');
    expect(emptySweepForm('gauges', 'hda-pr')).toMatchObject({ metric: 'nse', mode: 'max', period: 'test' });
    expect(emptySweepForm('twin', 'gradient')).toMatchObject({
      metric: 'medianCellKge',
      mode: 'max',
      period: 'valid',
    });
  });

  it('builds a spec main parses: 2 lambdas x 2 objectives x 3 seeds = 12 children', () => {
    const b = buildSweep(
      form({
        axes: [
          { field: 'lambdaL', text: '1, 10' },
          { field: 'objective', text: 'spatial-rmse, cell-mse' },
        ],
        seedsText: '1..3',
        concurrency: '2',
      }),
      base,
      fields,
    );
    expect(b.issues).toEqual({});
    expect(b.children).toBe(12);
    const parsed = sweepSpecSchema.parse(b.spec);
    expect(parsed.grid).toEqual({
      'options.lambdaL': [1, 10],
      'options.objective': ['spatial-rmse', 'cell-mse'],
    });
    expect(parsed.seeds).toEqual([1, 2, 3]);
    expect(parsed.base).toEqual(base);
    expect(parsed.select).toEqual({ metric: 'medianCellKge', period: 'valid', mode: 'max' });
    expect(parsed.concurrency).toBe(2);
    expect(parsed.datasets).toBeUndefined();
    expect(parsed.queue).toBeUndefined();
  });

  it('keeps each issue next to its field and sends nothing while one remains', () => {
    const b = buildSweep(
      form({
        name: '  ',
        axes: [
          { field: 'lambdaL', text: '1, -1' },
          { field: 'hidden', text: '[1]' },
        ],
        seedsText: '1, x',
        concurrency: '65',
        queue: 'http://host:6379',
      }),
      base,
      fields,
    );
    expect(b.spec).toBeNull();
    expect(b.issues['grid.options.lambdaL']).toEqual(['-1: must be greater than 0']);
    expect(b.issues['grid.options.hidden']).toEqual([
      'hidden is not an option of gan-po that a sweep can cross',
    ]);
    expect(b.issues.seeds![0]).toMatch(/^x: a seed is a whole number/);
    // the shape's own checks, through sweepSpecSchema
    expect(b.issues.name).toHaveLength(1);
    expect(b.issues.concurrency).toHaveLength(1);
    expect(b.issues.queue).toEqual(['expected redis://…']);
    expect(b.issues['']).toBeUndefined();
  });

  it('refuses an empty sweep and one of more than 10000 children', () => {
    expect(buildSweep(form(), base, fields).issues.grid).toEqual([
      'sweep at least one option, or list seeds or datasets',
    ]);
    const big = buildSweep(
      form({
        axes: [
          { field: 'lambdaL', text: Array.from({ length: 200 }, (_, i) => i + 1).join(',') },
          { field: 'epochs', text: Array.from({ length: 60 }, (_, i) => i + 1).join(',') },
        ],
      }),
      base,
      fields,
    );
    expect(big.children).toBe(12_000);
    expect(big.spec).toBeNull();
    expect(big.issues.grid).toEqual([
      '12000 combinations of the grid, seeds and datasets: at most 10000 per sweep',
    ]);
  });

  it("places main's refusal of children next to the swept option, the seeds or the base field", () => {
    const f = form({ axes: [{ field: 'lambdaL', text: '1, 2000' }], seedsText: '1, 2' });
    const err = new FieldcalError('VALIDATION', 'children refused', {
      issues: [
        { path: 'children[3].options.lambdaL', message: 'must be at most 1000' },
        { path: 'children.0.seed', message: 'bad seed' },
        { path: 'children[1].twin.rows', message: 'too small' },
        { path: 'grid.options.lambdaL', message: 'not a number' },
        { path: 'datasets.folder', message: '/x is not a folder' },
        { path: 'spec.concurrency', message: 'too many' },
        { path: 'spec.base.method', message: 'unknown method' },
        { path: 'children.2', message: 'the dataset changed' },
      ],
    });
    const placed = placeSweepError(err.toJSON(), f);
    expect(placed.sweep).toEqual({
      'grid.options.lambdaL': ['child 4: must be at most 1000', 'not a number'],
      datasets: ['/x is not a folder'],
      seeds: ['child 1: bad seed'],
      concurrency: ['too many'],
      '': ['child 3: the dataset changed'],
    });
    expect(placed.base).toEqual([
      { path: 'twin.rows', message: 'child 2: too small' },
      { path: 'method', message: 'unknown method' },
    ]);
  });

  it('shows an error without issues as it is, and a field error next to its field', () => {
    expect(placeSweepError(new FieldcalError('NO_PROJECT', 'no project is open'), form()).sweep).toEqual({
      '': ['no project is open'],
    });
    const f = form({ axes: [{ field: 'epochs', text: '1, 2' }] });
    const placed = placeSweepError(
      { code: 'VALIDATION', message: 'epochs: too many', details: { field: 'children.1.options.epochs' } },
      f,
    );
    expect(placed.sweep).toEqual({ 'grid.options.epochs': ['child 2: epochs: too many'] });
    expect(placeSweepError('boom', f).sweep).toEqual({ '': ['boom'] });
  });

  it("offers a surrogate's settings once physics is swept over one, and counts the exact runs once", () => {
    const gan = fieldsOf(methodOptionsSchema('gan-po', 'gridded'));
    const values = initialValues(gan, methodOptions('gan-po', 'gridded', {}));
    const names = (fs: Array<{ name: string }>) => fs.map((f) => f.name);
    expect(values.physics).toBe('exact');
    expect(names(sweepableFields(gan, values))).not.toContain('surrogate.epochs');
    const grid = { 'options.physics': ['exact', 'lstm'] };
    expect(names(sweepableFields(gan, values, grid))).toContain('surrogate.epochs');
    expect(names(sweepableFields(gan, values, grid))).toContain('surrogate.hidden');
    expect(names(sweepableFields(gan, values, grid))).not.toContain('surrogate.features'); // ARnet's
    // a sweep of GAN-PO's options over the form's values: "field: values" per axis
    const sweepOf = (axes: Record<string, string>, seedsText = '') =>
      buildSweep(
        form({ axes: Object.entries(axes).map(([field, text]) => ({ field, text })), seedsText }),
        base,
        gan,
        values,
      );
    const crossed = sweepOf({ physics: 'exact, lstm', 'surrogate.epochs': '5, 10' }, '1, 2');
    expect(crossed.issues).toEqual({});
    // exact once, lstm with 5 and with 10 epochs; x 2 seeds (main makes the same, sweep.test.ts)
    expect(crossed.children).toBe(6);
    expect(childCount(crossed.grid, 2, 0)).toBe(8);
    // an axis of an option every child takes (learningRate) beside them: 1 + 2 x 2, x 2 seeds
    const three = sweepOf(
      { 'surrogate.epochs': '5, 10', physics: 'exact, lstm', learningRate: '0.001, 0.0002' },
      '1, 2',
    );
    expect(three.children).toBe((2 + 2 * 2) * 2);
    // while an axis is being typed, the others are not judged against it
    const typing = sweepOf({ physics: 'exact, l', 'surrogate.epochs': '5, 10' });
    expect(Object.keys(typing.issues)).toEqual(['grid.options.physics']);
    // without physics swept, a surrogate setting matters to no child
    const alone = sweepOf({ 'surrogate.epochs': '5, 10' });
    expect(alone.spec).toBeNull();
    expect(alone.issues['grid.options.surrogate.epochs']).toEqual([
      'matters only with physics lstm or arnet: sweep or set that too',
    ]);
  });
});
