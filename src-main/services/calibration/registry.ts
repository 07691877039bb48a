import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc';
import { optionRules, whenHolds, type ShownWhen } from '../../../src-shared/types/formMeta';
import { getPath } from '../common/dottedPath';
import { parseOptions } from './gridded/options';
import { PROBLEM_KINDS, type MethodDefinition, type ProblemKind, type ProblemKinds } from './method';
import { annMethod } from './methods/ann';
import { bucketNexusMethod } from './methods/bucket-nexus';
import { dplMethod } from './methods/dpl';
import { ganPoMethod } from './methods/gan-po';
import { gradientMethod } from './methods/gradient';
import { hdaPrMethod } from './methods/hda-pr';
import { inverseMappingMethod } from './methods/inverse-mapping';
import { kgsslMethod } from './methods/kgssl';
import { sceUaMethod } from './methods/sce-ua';

/** Every built-in method by its registry key; adding one is one folder (methods/<key>/) plus one line here. */
export const METHODS: Readonly<Record<string, MethodDefinition>> = {
  'sce-ua': sceUaMethod,
  gradient: gradientMethod,
  ann: annMethod,
  dpl: dplMethod,
  'hda-pr': hdaPrMethod,
  'gan-po': ganPoMethod,
  kgssl: kgsslMethod,
  'bucket-nexus': bucketNexusMethod,
  'inverse-mapping': inverseMappingMethod,
};

const registry = new Map<string, MethodDefinition>(Object.entries(METHODS));

/**
 * Adds a method at run time (a plugin: a module whose import calls this). Job workers and the CLI
 * load the modules named by FIELDCAL_METHOD_MODULES ({@link loadMethodModules}) so the method is
 * known in every thread and process.
 */
export function registerMethod(key: string, def: MethodDefinition): void {
  if (!/^[a-z][a-z0-9-]*$/.test(key))
    throw new FieldcalError('VALIDATION', `method key ${key} must be lower-case letters, digits and -`, {
      field: 'method',
    });
  if (METHODS[key] && METHODS[key] !== def)
    throw new FieldcalError('VALIDATION', `method ${key} is built in`, { field: 'method' });
  registry.set(key, def);
}

/** Imports the method modules listed (path-delimited) in FIELDCAL_METHOD_MODULES; each registers itself. */
export async function loadMethodModules(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const list = env.FIELDCAL_METHOD_MODULES?.split(process.platform === 'win32' ? ';' : ':') ?? [];
  for (const m of list.filter(Boolean))
    await import(/* @vite-ignore */ pathToFileURL(isAbsolute(m) ? m : resolve(m)).href);
}

/** Method keys, in registry order; with a kind, those that accept that problem kind. */
export function methodNames(kind?: ProblemKind): string[] {
  return [...registry].filter(([, d]) => !kind || d.problems[kind]).map(([k]) => k);
}

/** A method by key, answering a typed error that lists the known ones. */
export function methodOf(key: string, kind?: ProblemKind): MethodDefinition {
  const d = registry.get(key);
  if (!d || (kind && !d.problems[kind]))
    throw new FieldcalError(
      'VALIDATION',
      `method: ${JSON.stringify(key)} is not ${kind ? `a method for ${kind} problems` : 'a method'} (one of ${methodNames(kind).join(', ')})`,
      { field: 'method', method: key },
    );
  return d;
}

/** The problem kinds a method accepts. */
export const kindsOf = (key: string): ProblemKind[] => {
  const { problems } = methodOf(key);
  return PROBLEM_KINDS.filter((k) => problems[k]);
};

/** Validates a method's options for a problem kind (strict, defaults filled): typed errors name the field. */
export function methodOptions(key: string, kind: ProblemKind, input: unknown): Record<string, unknown> {
  return parseOptions(key, methodOf(key, kind).problems[kind]!.options, input) as Record<string, unknown>;
}

/** A method's options schema for a problem kind as a caller may write it (defaults optional): zod 4's JSON Schema, what the options form is built from. */
export function methodOptionsSchema(key: string, kind: ProblemKind): Record<string, unknown> {
  return z.toJSONSchema(methodOf(key, kind).problems[kind]!.options, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
}

/** Each method's option rules by problem kind (a sweep asks once per child). */
const rulesOf = new WeakMap<MethodDefinition, Map<ProblemKind, ReturnType<typeof optionRules>>>();

/**
 * The options of `options` (as parsed, defaults filled) that do not matter with the others' values:
 * the paths whose `shownWhen` rule fails (formMeta.ts), e.g. `surrogate.epochs` for exact physics,
 * each with its rule.
 */
export function idleOptions(
  key: string,
  kind: ProblemKind,
  options: Record<string, unknown>,
): Map<string, ShownWhen> {
  const valueOf = (path: string): string | undefined => {
    const v = getPath(options, path);
    return v === undefined ? undefined : String(v);
  };
  const idle = new Map<string, ShownWhen>();
  const def = methodOf(key, kind);
  let rules = rulesOf.get(def)?.get(kind);
  if (!rules) {
    rules = optionRules(methodOptionsSchema(key, kind));
    rulesOf.set(def, (rulesOf.get(def) ?? new Map()).set(kind, rules));
  }
  for (const [path, rule] of rules) if (!whenHolds(rule, valueOf)) idle.set(path, rule);
  return idle;
}

/** Runs a method on a problem with options already validated by {@link methodOptions} (never re-parsed). */
export async function runMethod<K extends ProblemKind>(
  kind: K,
  key: string,
  problem: ProblemKinds[K]['problem'],
  options: Record<string, unknown>,
  seed: number,
  ctx: ProblemKinds[K]['context'],
): Promise<ProblemKinds[K]['result']> {
  const r = methodOf(key, kind).problems[kind]!;
  return r.run(problem, options, seed, ctx);
}
