// The surrogate reuse key of GAN-PO and dPL (gridded/surrogate.ts): a project's surrogate is taken
// again only for the same kind, ensemble, network config (defaults included) and training settings.
import { describe, expect, it } from 'vitest';
import { surrogateKey, surrogateSettings } from '../../../../src-main/services/calibration/gridded/surrogate';
import { ARNET_DEFAULTS } from '../../../../src-main/services/surrogate/arnet';

describe('surrogate reuse key', () => {
  const defaults = surrogateSettings.parse({});

  it("holds the ARnet's whole config, its antecedent channels too, and the settings' own", () => {
    const base = surrogateKey('arnet', 'ens-1', defaults);
    expect(base.arnetConfig).toEqual({ ...ARNET_DEFAULTS });
    expect(defaults.antecedent).toEqual([7, 30]);
    // each of these names a different surrogate
    const others = [
      surrogateKey('arnet', 'ens-1', { ...defaults, antecedent: [] }),
      surrogateKey('arnet', 'ens-1', { ...defaults, antecedent: [7] }),
      surrogateKey('arnet', 'ens-1', { ...defaults, features: defaults.features + 1 }),
      surrogateKey('arnet', 'ens-2', defaults),
      surrogateKey('lstm', 'ens-1', defaults),
      surrogateKey('arnet', 'ens-1', { ...defaults, learningRate: 2e-3 }),
    ].map((k) => k.key);
    expect(new Set([base.key, ...others]).size).toBe(others.length + 1);
    // the same settings, the same key; the LSTM's key ignores the ARnet's fields
    expect(surrogateKey('arnet', 'ens-1', surrogateSettings.parse({})).key).toBe(base.key);
    expect(surrogateKey('lstm', 'ens-1', { ...defaults, antecedent: [] }).key).toBe(
      surrogateKey('lstm', 'ens-1', defaults).key,
    );
  });

  it('refuses antecedent time constants out of 1 .. 3,660 days or more than 8, naming the field', () => {
    for (const antecedent of [[0.5], [4000], [1, 2, 3, 4, 5, 6, 7, 8, 9], ['7']]) {
      const r = surrogateSettings.safeParse({ antecedent });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path[0]).toBe('antecedent');
    }
    expect(surrogateSettings.parse({ antecedent: [] }).antecedent).toEqual([]);
  });
});
