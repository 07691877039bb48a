/**
 * The import directions of DESIGN.md, as eslint.config.mjs enforces them (eslint-plugin-boundaries on
 * resolved paths). Each case lints a small text as if it were a file at `filePath` inside the real tree
 * (the file need not exist; its imports must), so upward imports written from any depth are caught.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root, overrideConfigFile: 'eslint.config.mjs' });
});

/** The messages ESLint reports for `code` placed at `filePath` (relative to the repository root). */
async function lint(filePath: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return result!.messages.map((m) => ({ ruleId: m.ruleId, message: m.message, line: m.line }));
}

/** The import target must exist, so that a failing case fails because of the direction, not resolution. */
function assertResolves(filePath: string, spec: string): void {
  const base = resolve(root, filePath, '..', spec);
  const candidates = [base, `${base}.ts`, `${base}.svelte`, join(base, 'index.ts')];
  expect(
    candidates.some((c) => existsSync(c)),
    `${spec} from ${filePath} should exist`,
  ).toBe(true);
}

const importing = (spec: string) => `import * as dep from '${spec}';\nexport const used = dep;\n`;

/** Upward or sideways imports that must fail, with the element types the message must name. */
const forbidden: [filePath: string, spec: string, from: string, to: string][] = [
  ['src-main/services/physics/gr4/__fixture__.ts', '../../project/store', 'physics', 'project'],
  ['src-main/services/calibration/gridded/__fixture__.ts', '../../jobs/specs', 'calibration', 'jobs'],
  ['src-main/services/report/__fixture__.ts', '../app-info', 'report', 'app-info'],
  ['src-main/services/report/__fixture__.ts', '../project/store', 'report', 'project'],
  ['src-main/services/report/__fixture__.ts', '../calibration/registry', 'report', 'calibration'],
  ['src-main/services/datasets/__fixture__.ts', '../calibration/registry', 'datasets', 'calibration'],
  ['src-main/services/rasters/__fixture__.ts', '../grid/flowdir', 'rasters', 'grid'],
  ['src-main/services/grid/__fixture__.ts', '../physics/routing/lr', 'grid', 'physics'],
  ['src-main/services/compute/__fixture__.ts', '../physics/gr4/forward', 'compute', 'physics'],
  ['src-main/services/common/__fixture__.ts', '../rasters/format', 'common', 'rasters'],
  ['src-main/services/project/repositories/__fixture__.ts', '../../jobs/specs', 'project', 'jobs'],
  ['src-main/services/paths.ts', './app-info', 'paths', 'app-info'],
  ['src-main/services/events.ts', './project/store', 'events', 'project'],
  ['src-main/app/__fixture__.ts', '../services/project/store', 'app', 'project'],
  ['src-main/ipc/__fixture__.ts', '../server/server', 'ipc', 'server'],
  ['src-main/server/__fixture__.ts', '../cli/program', 'server', 'cli'],
  ['src-shared/__fixture__.ts', '../src-main/services/paths', 'shared', 'paths'],
  ['src-shared/types/__fixture__.ts', '../../src-renderer/src/lib/api', 'shared', 'renderer'],
  ['src-preload/__fixture__.ts', '../src-main/services/events', 'preload', 'events'],
  ['src-renderer/src/lib/__fixture__.ts', '../../../src-main/services/paths', 'renderer', 'paths'],
  ['src-renderer/src/lib/__fixture__.ts', '../../../src-preload/index', 'renderer', 'preload'],
];

describe('import directions (boundaries/dependencies, resolved paths)', () => {
  it.each(forbidden)('%s importing %s fails', async (filePath, spec, from, to) => {
    assertResolves(filePath, spec);
    const messages = await lint(filePath, importing(spec));
    expect(messages).toHaveLength(1);
    expect(messages[0]!.ruleId).toBe('boundaries/dependencies');
    expect(messages[0]!.message).toContain(`"${from}"`);
    expect(messages[0]!.message).toContain(`"${to}"`);
  });

  it('checks type-only imports, export-from and dynamic imports too', async () => {
    const file = 'src-main/services/physics/gr4/__fixture__.ts';
    const code = [
      "import type { ProjectStore } from '../../project/store';",
      "export { createJobsService } from '../../jobs/service';",
      'export type S = ProjectStore;',
      "export const later = () => import('../../calibration/registry');",
      '',
    ].join('\n');
    const messages = await lint(file, code);
    expect(messages.map((m) => [m.ruleId, m.line])).toEqual([
      ['boundaries/dependencies', 1],
      ['boundaries/dependencies', 2],
      ['boundaries/dependencies', 4],
    ]);
  });

  it('checks .svelte components', async () => {
    const file = 'src-renderer/src/components/results/__fixture__.svelte';
    const bad = `<script lang="ts">\n  import { appRoot } from '../../../../src-main/services/paths';\n  const root = appRoot();\n</script>\n\n<p>{root}</p>\n`;
    const messages = await lint(file, bad);
    expect(messages.map((m) => m.ruleId)).toEqual(['boundaries/dependencies']);
    const good = `<script lang="ts">\n  import type { AppInfo } from '../../../../src-shared/ipc';\n  import { app } from '../../lib/stores/app.svelte';\n  let { info }: { info: AppInfo } = $props();\n</script>\n\n<p>{info.name} {app}</p>\n`;
    expect(await lint(file, good)).toEqual([]);
  });

  it('reports an import that does not resolve instead of letting it pass', async () => {
    const messages = await lint('src-main/services/report/__fixture__.ts', importing('../nowhere/at-all'));
    expect(messages.map((m) => m.ruleId)).toEqual(['boundaries/no-unknown-dependencies']);
  });

  it('reports a file in a folder that has no place in the architecture', async () => {
    const messages = await lint('src-main/services/unplaced/__fixture__.ts', 'export const x = 1;\n');
    expect(messages.map((m) => m.ruleId)).toEqual(['boundaries/no-unknown-files']);
  });
});

/** Imports that follow the layers and must pass every rule. */
const allowed: [filePath: string, spec: string][] = [
  ['src-main/services/physics/gr4/__fixture__.ts', '../../compute'],
  ['src-main/services/physics/routing/__fixture__.ts', '../../grid/flowdir'],
  ['src-main/services/calibration/__fixture__.ts', '../physics/vic3l'],
  ['src-main/services/calibration/gridded/__fixture__.ts', '../../datasets/importer'],
  ['src-main/services/calibration/gridded/__fixture__.ts', '../../report/gridReport'],
  ['src-main/services/jobs/__fixture__.ts', '../project/store'],
  ['src-main/services/jobs/__fixture__.ts', '../calibration/registry'],
  ['src-main/services/report/__fixture__.ts', '../paths'],
  ['src-main/services/report/__fixture__.ts', '../rasters/format'],
  ['src-main/services/report/__fixture__.ts', '../metrics/summary'],
  ['src-main/services/datasets/__fixture__.ts', '../physics/routing/lr'],
  ['src-main/services/project/__fixture__.ts', '../datasets/importer'],
  ['src-main/services/app-info/__fixture__.ts', '../project/session'],
  ['src-main/ipc/__fixture__.ts', '../services/project/store'],
  ['src-main/cli/__fixture__.ts', '../server/server'],
  ['src-main/app/__fixture__.ts', '../services/index'],
  ['src-shared/types/__fixture__.ts', '../ipc/index'],
  ['src-preload/__fixture__.ts', '../src-shared/ipc/index'],
  ['src-renderer/src/lib/__fixture__.ts', '../../../src-shared/ipc/index'],
];

describe('imports that follow the layers', () => {
  it.each(allowed)('%s importing %s passes', async (filePath, spec) => {
    assertResolves(filePath, spec);
    expect(await lint(filePath, importing(spec))).toEqual([]);
  });
});

describe('module restrictions kept beside the boundaries', () => {
  it('keeps electron in index/app/ipc/jobs host and node built-ins out of src-shared', async () => {
    const electron = await lint('src-main/services/report/__fixture__.ts', importing('electron'));
    expect(electron.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
    expect(await lint('src-main/ipc/__fixture__.ts', importing('electron'))).toEqual([]);
    const node = await lint('src-shared/__fixture__.ts', importing('node:fs'));
    expect(node.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
  });
});
