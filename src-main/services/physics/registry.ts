import { CN } from './cn/structure';
import { GR4J } from './gr4/structure';
import { LLR } from './routing/lr';
import type { ModelStructure, ParameterSpec } from './structure';
import { VIC3L } from './vic3l/structure';

/**
 * Every model structure the app knows, by name: the one table UI forms, config validation and
 * export band names read. Adding a structure is one folder under physics/ plus one entry here.
 */
export const STRUCTURES: Readonly<Record<string, ModelStructure>> = {
  gr4: GR4J,
  cn: CN,
  vic3l: VIC3L,
};

/** Routing schemes and their parameters. */
export const ROUTING: Readonly<Record<string, readonly ParameterSpec[]>> = {
  lr: [LLR],
};
