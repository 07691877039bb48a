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
});
