import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  boundsText,
  fieldForIssue,
  fieldsOf,
  initialValues,
  isShown,
  issuesByField,
  keyOf,
  optionsFrom,
  helpText,
  nameParts,
  parseField,
  type RawValue,
} from '../../../src-renderer/src/components/calibration/schemaForm';
import { shownWhen } from '../../../src-shared/types/formMeta';

// the shape of HDA-PR's and GAN-PO's options, converted as jobs.methods converts them
const schema = z.toJSONSchema(
  z.strictObject({
    hidden: z.array(z.number().int().min(1).max(512)).max(4).default([16, 16]),
    iterations: z.number().int().min(1).max(100_000).default(200),
    learningRate: z.number().positive().max(1).default(0.003),
    output: z.enum(['linear', 'sigmoid']).default('linear'),
    shuffle: z.boolean().default(true),
    windowsPerStep: z.number().int().min(1).optional().describe('Windows per Adam step'),
    cem: z
      .strictObject({
        iterations: z.number().int().default(6).describe('CEM iterations'),
        samples: z.number(),
      })
      .optional()
      .describe('Cross-entropy search, as JSON'),
  }),
  { io: 'input', unrepresentable: 'any' },
) as Record<string, unknown>;

describe('the Calibrate form from a method JSON Schema', () => {
  const fields = fieldsOf(schema);

  it('has one field per option, with its kind, bounds and default', () => {
    expect(fields.map((f) => [f.name, f.kind])).toEqual([
      ['hidden', 'json'],
      ['iterations', 'integer'],
      ['learningRate', 'number'],
      ['output', 'enum'],
      ['shuffle', 'boolean'],
      ['windowsPerStep', 'integer'],
      ['cem', 'json'],
    ]);
    const it = fields[1]!;
    expect([it.min, it.max, it.default]).toEqual([1, 100_000, 200]);
    expect(boundsText(it)).toBe('1 … 100000');
    expect(boundsText(fields[2]!)).toBe('> 0, ≤ 1');
    expect(fields[3]!.choices).toEqual(['linear', 'sigmoid']);
    // zod's safe-integer maximum for an unbounded integer is not shown
    expect(fields[5]!.max).toBeUndefined();
    expect(fields[5]!.hasDefault).toBe(false);
  });

  it('fills the defaults and gives back the options main would accept', () => {
    const values = initialValues(fields, { iterations: 30 });
    expect(values).toEqual({
      hidden: '[16,16]',
      iterations: '30',
      learningRate: '0.003',
      output: 'linear',
      shuffle: true,
      windowsPerStep: '',
      cem: '',
    });
    const { options, errors } = optionsFrom(fields, values);
    expect(errors).toEqual({});
    expect(options).toEqual({
      hidden: [16, 16],
      iterations: 30,
      learningRate: 0.003,
      output: 'linear',
      shuffle: true,
    });
  });

  it('refuses values outside the bounds, next to the field', () => {
    const f = (n: string) => fields.find((x) => x.name === n)!;
    expect(parseField(f('iterations'), '0').error).toBe('must be at least 1');
    expect(parseField(f('iterations'), '2.5').error).toBe('must be a whole number');
    expect(parseField(f('iterations'), 'ten').error).toBe('expected a number');
    expect(parseField(f('learningRate'), '0').error).toBe('must be greater than 0');
    expect(parseField(f('learningRate'), '1').value).toBe(1);
    expect(parseField(f('hidden'), '[16, 0]').error).toBe('item 2: must be at least 1');
    expect(parseField(f('hidden'), '[1,2,3,4,5]').error).toBe('at most 4 items');
    expect(parseField(f('hidden'), '[16,').error).toMatch(/^not valid JSON/);
    expect(parseField(f('output'), 'tanh').error).toBe('expected one of linear, sigmoid');
    const { options, errors } = optionsFrom(fields, { ...initialValues(fields), iterations: '-3' });
    expect(errors).toEqual({ iterations: 'must be at least 1' });
    expect(options).not.toHaveProperty('iterations');
  });

  it("shows each option's description and whole name, cut only at its camelCase humps", () => {
    expect(fields[5]!.description).toBe('Windows per Adam step');
    expect(fields[0]!.description).toBeUndefined();
    expect(helpText(fields[5]!)).toBe('Windows per Adam step');
    expect(helpText(fields[0]!)).toBe('');
    // an object's tooltip tells its described keys
    expect(helpText(fields[6]!)).toBe('Cross-entropy search, as JSON\niterations: CEM iterations');
    expect(nameParts('pretrainEpochs')).toEqual(['pretrain', 'Epochs']);
    expect(nameParts('windowsPerStep')).toEqual(['windows', 'Per', 'Step']);
    expect(nameParts('lambdaL1')).toEqual(['lambda', 'L1']);
    expect(nameParts('beta1')).toEqual(['beta1']);
    expect(nameParts('epochs')).toEqual(['epochs']);
  });

  it('places job-check issues at the field their path names', () => {
    const keys = [
      'dataset.path',
      'dataset.start',
      'dataset.end',
      'gauges',
      'studyArea',
      'options.hidden',
      'options',
    ];
    expect(fieldForIssue('options.hidden.1', keys)).toBe('options.hidden');
    expect(fieldForIssue('options.iterationz', keys)).toBe('options');
    expect(fieldForIssue('gauges.2', keys)).toBe('gauges');
    expect(fieldForIssue('studyArea.geometry', keys)).toBe('studyArea');
    expect(fieldForIssue('dataset', keys)).toBeNull();
    expect(fieldForIssue('datasetX', keys)).toBeNull();
    expect(
      issuesByField(
        [
          { path: 'dataset', message: 'no dates' },
          { path: 'dataset.start', message: 'before the data' },
          { path: 'seed', message: 'x' },
        ],
        keys,
        { dataset: 'dataset.path' },
      ),
    ).toEqual({ 'dataset.path': ['no dates'], 'dataset.start': ['before the data'], '': ['x'] });
  });
});

describe('a settings object (surrogate) in the Calibrate form', () => {
  // the shape of GAN-PO's and dPL's surrogate option: every key defaulted or optional, {} by default
  const settings = z.toJSONSchema(
    z.strictObject({
      epochs: z.number().int().min(1).default(200),
      surrogate: z
        .strictObject({
          members: z.number().int().min(3).default(400).describe('Ensemble members'),
          sampler: z.enum(['uniform-cell', 'sobol']).default('uniform-cell'),
          split: z
            .strictObject({ train: z.number().int().min(1), valid: z.number().int().min(1) })
            .optional(),
          batchSize: z.number().int().min(1).optional(),
          antecedent: z.array(z.number().int().min(1)).max(8).default([7, 30]),
        })
        .prefault({})
        .describe('Surrogate settings'),
    }),
    { io: 'input', unrepresentable: 'any' },
  ) as Record<string, unknown>;
  const fields = fieldsOf(settings);
  const f = (n: string) => fields.find((x) => x.name === n)!;

  it('is one field per key, named group.key, with the group named and described', () => {
    expect(fields.map((x) => [x.name, x.kind, x.group?.name ?? null])).toEqual([
      ['epochs', 'integer', null],
      ['surrogate.members', 'integer', 'surrogate'],
      ['surrogate.sampler', 'enum', 'surrogate'],
      ['surrogate.split', 'json', 'surrogate'],
      ['surrogate.batchSize', 'integer', 'surrogate'],
      ['surrogate.antecedent', 'json', 'surrogate'],
    ]);
    expect(f('surrogate.members').group).toEqual({ name: 'surrogate', description: 'Surrogate settings' });
    expect(keyOf(f('surrogate.members'))).toBe('members');
    expect([f('surrogate.members').min, f('surrogate.members').default]).toEqual([3, 400]);
    expect(f('surrogate.batchSize').hasDefault).toBe(false);
  });

  it("fills a job's settings, and gathers the filled fields into one object (none: left out)", () => {
    const untouched = optionsFrom(fields, initialValues(fields));
    expect(untouched.errors).toEqual({});
    expect(untouched.options).toEqual({
      epochs: 200,
      surrogate: { members: 400, sampler: 'uniform-cell', antecedent: [7, 30] },
    });
    const values = initialValues(fields, { surrogate: { members: 12, split: { train: 6, valid: 3 } } });
    expect([values['surrogate.members'], values['surrogate.split']]).toEqual(['12', '{"train":6,"valid":3}']);
    expect(optionsFrom(fields, { ...values, 'surrogate.batchSize': '64' }).options.surrogate).toEqual({
      members: 12,
      sampler: 'uniform-cell',
      split: { train: 6, valid: 3 },
      batchSize: 64,
      antecedent: [7, 30],
    });
    const cleared = Object.fromEntries(fields.map((x) => [x.name, x.kind === 'boolean' ? false : '']));
    expect(optionsFrom(fields, cleared).options).toEqual({});
  });

  it('refuses a wrong setting next to its field, and places issues of main there', () => {
    const { options, errors } = optionsFrom(fields, { ...initialValues(fields), 'surrogate.members': '2' });
    expect(errors).toEqual({ 'surrogate.members': 'must be at least 3' });
    expect(options.surrogate).not.toHaveProperty('members');
    const keys = ['options', ...fields.map((x) => `options.${x.name}`)];
    expect(fieldForIssue('options.surrogate.split.train', keys)).toBe('options.surrogate.split');
    expect(fieldForIssue('options.surrogate.members', keys)).toBe('options.surrogate.members');
    expect(fieldForIssue('options.surrogate', keys)).toBe('options');
  });
});

describe('chart data', async () => {
  const { hydrographData, hydrographWindow, lossData } =
    await import('../../../src-renderer/src/lib/charts/chartData');
  it('turns a hydrograph into uPlot columns with gaps where values are missing', () => {
    const h = hydrographData({
      gaugeId: 1,
      code: 'Y3204010',
      dates: ['2012-08-01', '2012-08-02', '2012-08-03'],
      observed: new Float32Array([1.5, NaN, 3]),
      rainfall: new Float32Array([0, 12, 4]),
      simulated: [
        { runId: 4, name: '#4 hda-pr', values: new Float32Array([1, 2, 5]), periods: [], scores: {} },
      ],
      units: 'm3/s',
    });
    expect(h.labels).toEqual(['observed', '#4 hda-pr', 'rainfall']);
    expect(h.data[0]).toEqual([1343779200, 1343865600, 1343952000]);
    expect(h.data[1]).toEqual([1.5, null, 3]);
    expect([h.qMax, h.rainMax]).toEqual([5, 12]);
  });

  it('opens on the simulated period, else the rainfall, else the observed record', () => {
    const base = {
      gaugeId: 1,
      code: 'X',
      dates: ['2000-01-01', '2000-01-02', '2000-01-03', '2000-01-04', '2000-01-05'],
      observed: new Float32Array([1, 2, 3, 4, NaN]),
      units: 'm3/s',
    };
    const sim = (v: number[]) => ({
      runId: 1,
      name: 'a',
      values: new Float32Array(v),
      periods: [],
      scores: {},
    });
    const rain = new Float32Array([NaN, 1, 2, 3, NaN]);
    expect(hydrographWindow({ ...base, rainfall: rain, simulated: [sim([NaN, NaN, 1, 2, NaN])] })).toEqual([
      '2000-01-03',
      '2000-01-04',
    ]);
    expect(hydrographWindow({ ...base, rainfall: rain, simulated: [] })).toEqual([
      '2000-01-02',
      '2000-01-04',
    ]);
    expect(hydrographWindow({ ...base, rainfall: null, simulated: [] })).toEqual([
      '2000-01-01',
      '2000-01-04',
    ]);
    expect(
      hydrographWindow({ ...base, observed: new Float32Array(5).fill(NaN), rainfall: null, simulated: [] }),
    ).toBeNull();
  });

  it('keeps the last point per iteration and puts loss terms on their own series', () => {
    const at = '2025-01-01T00:00:00Z';
    const l = lossData([
      { iteration: 0, phase: 'preparing', objective: null, losses: {}, at },
      { iteration: 1, phase: 'calibrating', objective: 4, losses: { d: 0.5, g_l1: 2, valid: 3 }, at },
      { iteration: 2, phase: 'calibrating', objective: 3, losses: { d: 0.4, g_l1: 1.5, valid: 2.5 }, at },
      // resumed from the checkpoint at 1: iteration 2 again, recorded later
      { iteration: 2, phase: 'calibrating', objective: 2.9, losses: { d: 0.45, g_l1: 1.4, valid: 2.4 }, at },
      { iteration: 3, phase: 'calibrating', objective: 2, losses: { loop: 7 }, at },
    ]);
    expect(l.labels).toEqual(['objective', 'valid', 'd', 'g_l1']);
    expect(l.data).toEqual([
      [1, 2, 3],
      [4, 2.9, 2],
      [3, 2.4, null],
      [0.5, 0.45, null],
      [2, 1.4, null],
    ]);
    expect([...l.terms]).toEqual(['d', 'g_l1']);
  });

  it('the iteration axis has whole ticks only, and a lone point is padded by one iteration each side', async () => {
    const { iterationRange, WHOLE_STEPS } = await import('../../../src-renderer/src/lib/charts/chartData');
    expect(WHOLE_STEPS.slice(0, 7)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(WHOLE_STEPS.every((s) => Number.isInteger(s) && s >= 1)).toBe(true);
    // one epoch in: uPlot's own padding gave 0.5 .. 1.5 with ticks at 0.6, 0.8 ...
    expect(iterationRange(1, 1)).toEqual([0, 2]);
    expect(iterationRange(3, 40)).toEqual([3, 40]);
    expect(iterationRange(null, null)).toEqual([0, 1]);
  });
});

describe('split-sample periods of the Calibrate panel', () => {
  it('warm-up, calibration up to the day before validation, validation to the end (leap day included)', async () => {
    const { splitSamplePeriods } = await import('../../../src-renderer/src/components/calibration/periods');
    expect(splitSamplePeriods('2012-02-20', '2013-07-31', '2013-04-01', 10)).toEqual([
      { name: 'warmup', start: '2012-02-20', end: '2012-02-29' },
      { name: 'train', start: '2012-03-01', end: '2013-03-31' },
      { name: 'test', start: '2013-04-01', end: '2013-07-31' },
    ]);
    expect(splitSamplePeriods('2012-08-01', '2013-07-31', '2013-04-01', 0).map((p) => p.name)).toEqual([
      'train',
      'test',
    ]);
  });
});

describe('options shown only under other options (shownWhen)', () => {
  const when = z.toJSONSchema(
    z.strictObject({
      mode: z.enum(['a', 'b', 'c']).default('a'),
      fast: z.boolean().default(false),
      depth: z
        .number()
        .int()
        .min(1)
        .default(3)
        .meta(shownWhen({ fast: ['false'] })),
      group: z
        .strictObject({
          size: z.number().int().min(1).default(2),
          onlyC: z
            .number()
            .int()
            .min(1)
            .default(1)
            .meta(shownWhen({ mode: ['c', 'a'] })),
        })
        .prefault({})
        .meta(shownWhen({ mode: ['b', 'c'] })),
    }),
    { io: 'input', unrepresentable: 'any' },
  ) as Record<string, unknown>;
  const fields = fieldsOf(when);
  const shown = (values: Record<string, RawValue>) =>
    fields.filter((f) => isShown(f, { ...initialValues(fields), ...values }, fields)).map((f) => f.name);

  it("follows a checkbox by 'true' / 'false', and a settings object's rule with its keys' own on top", () => {
    expect(shown({})).toEqual(['mode', 'fast', 'depth']);
    expect(shown({ fast: true })).toEqual(['mode', 'fast']);
    expect(shown({ mode: 'b' })).toEqual(['mode', 'fast', 'depth', 'group.size']);
    // group.onlyC: its group's b or c, and its own c or a: c only
    expect(fields.find((f) => f.name === 'group.onlyC')!.shownWhen).toEqual({ mode: ['c'] });
    expect(shown({ mode: 'c' })).toEqual(['mode', 'fast', 'depth', 'group.size', 'group.onlyC']);
  });

  it('neither checks nor sends a hidden option', () => {
    const values = { ...initialValues(fields), fast: true, depth: '0', 'group.size': '0' };
    expect(optionsFrom(fields, values)).toEqual({ options: { mode: 'a', fast: true }, errors: {} });
    expect(optionsFrom(fields, { ...values, mode: 'b', fast: false }).errors).toEqual({
      depth: 'must be at least 1',
      'group.size': 'must be at least 1',
    });
  });
});
