import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  kindsOf,
  methodNames,
  methodOf,
  methodOptions,
} from '../../../src-main/services/calibration/registry';
import {
  fieldsOf,
  initialValues,
  isShown,
  optionsFrom,
} from '../../../src-renderer/src/components/calibration/schemaForm';

/**
 * Every registered method's options form, built as the Calibrate panel builds it (the JSON Schema
 * jobs.methods serves, filled with the method's defaults): untouched, it gives back options that
 * main parses to those same defaults, settings objects (GAN-PO's surrogate, inverse mapping's
 * filters, cem and network, KGSSL's weights and transfer) gathered from their sections.
 */
describe("every method's options form", () => {
  const cases = methodNames().flatMap((name) => kindsOf(name).map((kind) => [name, kind] as const));

  it.each(cases)('%s (%s): the untouched form gives the defaults back', (name, kind) => {
    const schema = z.toJSONSchema(methodOf(name).problems[kind]!.options, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    const fields = fieldsOf(schema);
    const defaults = methodOptions(name, kind, {});
    const { options, errors } = optionsFrom(fields, initialValues(fields, defaults));
    expect(errors).toEqual({});
    expect(methodOptions(name, kind, options)).toEqual(defaults);
  });

  it.each(cases)(
    '%s (%s): every shownWhen names an option of the form and values it can take',
    (name, kind) => {
      const fields = fieldsOf(
        z.toJSONSchema(methodOf(name).problems[kind]!.options, {
          io: 'input',
          unrepresentable: 'any',
        }) as Record<string, unknown>,
      );
      for (const f of fields)
        for (const [other, allowed] of Object.entries(f.shownWhen ?? {})) {
          const o = fields.find((g) => g.name === other);
          expect(o, `${f.name}: shownWhen names ${other}`).toBeDefined();
          const can = o!.kind === 'boolean' ? ['true', 'false'] : (o!.choices ?? []);
          expect(allowed.length, `${f.name}: shownWhen.${other} allows nothing`).toBeGreaterThan(0);
          for (const v of allowed) expect(can, `${f.name}: shownWhen.${other}`).toContain(v);
        }
    },
  );

  it('shows the settings objects as sections', () => {
    const groups = (name: string, kind: 'gridded' | 'gauges') => [
      ...new Set(
        fieldsOf(
          z.toJSONSchema(methodOf(name).problems[kind]!.options, {
            io: 'input',
            unrepresentable: 'any',
          }) as Record<string, unknown>,
        )
          .filter((f) => f.group)
          .map((f) => f.group!.name),
      ),
    ];
    expect(groups('gan-po', 'gridded')).toEqual(['surrogate']);
    expect(groups('dpl', 'gridded')).toEqual(['surrogate']);
    expect(groups('inverse-mapping', 'gauges')).toEqual(['filters', 'cem', 'network']);
  });

  it("shows GAN-PO's surrogate settings only for a surrogate, and each network's only for its own", () => {
    const schema = z.toJSONSchema(methodOf('gan-po').problems.gridded!.options, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    const fields = fieldsOf(schema);
    const start = initialValues(fields, methodOptions('gan-po', 'gridded', {}));
    const shown = (physics: string) =>
      fields.filter((f) => isShown(f, { ...start, physics }, fields)).map((f) => f.name);
    const surrogateOnly = fields
      .filter((f) => f.group?.name === 'surrogate')
      .map((f) => f.name)
      .concat(['updateEvery', 'updateEpochs', 'surrogateFrom', 'reuseSurrogate']);
    const lstmOnly = ['surrogate.hidden', 'surrogate.window'];
    const arnetOnly = ['surrogate.features', 'surrogate.growth', 'surrogate.antecedent'];
    // exact physics: none of the surrogate's 20 options; the method's own 14 and physics
    expect(shown('exact')).toEqual(fields.map((f) => f.name).filter((n) => !surrogateOnly.includes(n)));
    expect(shown('exact')).toHaveLength(15);
    expect(fields).toHaveLength(35);
    expect(shown('lstm')).toEqual(fields.map((f) => f.name).filter((n) => !arnetOnly.includes(n)));
    expect(shown('arnet')).toEqual(fields.map((f) => f.name).filter((n) => !lstmOnly.includes(n)));
    // a hidden option is neither checked nor sent: main takes its default
    const wrong = { ...start, 'surrogate.members': '2', 'surrogate.hidden': '0', updateEvery: '-1' };
    const exact = optionsFrom(fields, wrong);
    expect(exact.errors).toEqual({});
    expect(exact.options).not.toHaveProperty('surrogate');
    expect(exact.options).not.toHaveProperty('updateEvery');
    expect(methodOptions('gan-po', 'gridded', exact.options)).toEqual(methodOptions('gan-po', 'gridded', {}));
    expect(optionsFrom(fields, { ...wrong, physics: 'lstm' }).errors).toEqual({
      'surrogate.members': 'must be at least 3',
      'surrogate.hidden': 'must be at least 1',
      updateEvery: 'must be at least 0',
    });
    // the ARnet's form sends its own settings and not the LSTM's
    const arnet = optionsFrom(fields, { ...start, physics: 'arnet', 'surrogate.hidden': '0' });
    expect(arnet.errors).toEqual({});
    expect(Object.keys(arnet.options.surrogate as object)).toEqual(
      expect.arrayContaining(['members', 'features', 'growth', 'antecedent']),
    );
    expect(arnet.options.surrogate).not.toHaveProperty('hidden');
    expect(methodOptions('gan-po', 'gridded', arnet.options)).toMatchObject({ physics: 'arnet' });
  });
});
