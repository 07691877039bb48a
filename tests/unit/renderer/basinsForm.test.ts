import { describe, expect, it } from 'vitest';
import {
  buildBasinsSpec,
  emptyBasinsForm,
  placeIssues,
  placeOf,
  type BasinsForm,
} from '../../../src-renderer/src/components/calibration/basinsForm';
import { curvePoints } from '../../../src-renderer/src/lib/charts/chartData';

/** The Calibrate panel's basins (KGSSL) form: its spec, its own issues, and where main's issues go. */
const filled = (): BasinsForm => ({
  ...emptyBasinsForm(),
  path: ' /data/camels-fr ',
  trainStart: '1999-01-01',
  trainEnd: '2008-12-31',
  testStart: '2009-01-01',
  testEnd: '2018-12-31',
});

describe('basins form', () => {
  it('builds the basins job spec with the KGSSL options that matter', () => {
    const r = buildBasinsSpec(
      { ...filled(), zDim: '3', window: '40', wRegression: '0', transfer: false },
      'kgssl',
    );
    expect(r.issues).toEqual([]);
    expect(r.spec).toMatchObject({
      kind: 'basins',
      method: 'kgssl',
      seed: 1,
      dataset: { path: '/data/camels-fr' },
      train: { start: '1999-01-01', end: '2008-12-31' },
      test: { start: '2009-01-01', end: '2018-12-31' },
      options: {
        zDim: 3,
        epochs: 40,
        window: 40,
        spinup: 20,
        weights: { reconstruction: 1, contrastive: 0.1, regression: 0 },
        transfer: { enabled: false },
        attributeBaseline: true,
      },
    });
    expect(JSON.stringify(r.spec)).not.toContain('"attributes"');
    expect(buildBasinsSpec({ ...filled(), attributes: 'a.csv' }, 'kgssl').spec).toMatchObject({
      dataset: { attributes: 'a.csv' },
    });
  });

  it('says what is missing or not a number at its field, and the schema refinements', () => {
    const r = buildBasinsSpec({ ...emptyBasinsForm(), zDim: '2.5', epochs: 'ten' }, 'kgssl');
    expect(r.spec).toBeNull();
    const at = placeIssues(r.issues);
    expect(at.path).toEqual(['give the folder of basin CSVs']);
    expect(at['train.start']).toEqual(['give the first day trained on']);
    expect(at['options.zDim']).toEqual(['embedding size is a whole number']);
    expect(at['options.epochs']).toEqual(['"ten" is not a number']);
    const o = buildBasinsSpec({ ...filled(), testStart: '2005-01-01' }, 'kgssl');
    expect(placeIssues(o.issues)['test.end']).toEqual(['the test period overlaps the train period']);
  });

  it("places main's issues: folder, attribute table, periods, nested options", () => {
    expect(placeOf('dataset.path')).toBe('path');
    expect(placeOf('dataset.attributes')).toBe('attributes');
    expect(placeOf('test')).toBe('test.end');
    expect(placeOf('train.start')).toBe('train.start');
    expect(placeOf('options.weights.contrastive')).toBe('options.weights.contrastive');
    expect(placeOf('options.hidden')).toBe('options');
    expect(placeOf('something')).toBe('');
  });

  it("plots a basins run's main training only, without the tensor count", () => {
    const pt = (phase: string, iteration: number) => ({
      phase,
      iteration,
      objective: 1,
      losses: { L1: 1, numTensors: 40 },
      at: '',
    });
    const pts = [pt('calibrating', 1), pt('calibrating', 2), pt('imputation fold 1', 1), pt('transfer', 1)];
    expect(curvePoints(pts, 'basins').map((p) => [p.phase, p.iteration, p.losses])).toEqual([
      ['calibrating', 1, { L1: 1 }],
      ['calibrating', 2, { L1: 1 }],
    ]);
    expect(curvePoints(pts, 'gauges')).toBe(pts);
  });
});
