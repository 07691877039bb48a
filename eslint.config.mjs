// Lint rules, including the import directions of DESIGN.md ("who may import whom").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import { builtinModules } from 'node:module';
import boundaries from 'eslint-plugin-boundaries';
import svelteConfig from './svelte.config.js';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noNode = { paths: nodeBuiltins.map((name) => ({ name, message: 'No Node built-ins in this layer.' })) };
const noElectron = {
  name: 'electron',
  message: 'Only src-main/index.ts, app/, ipc/ and jobs/host import electron.',
};

/** Forbids the given bare modules (node built-ins, electron); paths between folders are boundaries/dependencies' job. */
const forbidModules = (...groups) => ({
  'no-restricted-imports': ['error', { paths: groups.flatMap((g) => g.paths ?? [g]) }],
});

/*
 * Who may import whom (DESIGN.md), checked by eslint-plugin-boundaries on the RESOLVED path of every
 * import, export-from and literal dynamic import, at any depth, in .ts, .svelte.ts and .svelte files.
 * Every linted file of src-* must belong to one of these folders or single files
 * (boundaries/no-unknown-files), and every local import must resolve into one of them
 * (boundaries/no-unknown-dependencies), so a new folder has to be placed here, and a resolver that
 * silently fails cannot pass everything. tests/unit/lint/boundaries.test.ts holds examples.
 */
const folders = {
  shared: 'src-shared',
  preload: 'src-preload',
  renderer: 'src-renderer',
  app: 'src-main/app',
  ipc: 'src-main/ipc',
  server: 'src-main/server',
  cli: 'src-main/cli',
  'app-info': 'src-main/services/app-info',
  project: 'src-main/services/project',
  jobs: 'src-main/services/jobs',
  calibration: 'src-main/services/calibration',
  surrogate: 'src-main/services/surrogate',
  datasets: 'src-main/services/datasets',
  report: 'src-main/services/report',
  physics: 'src-main/services/physics',
  metrics: 'src-main/services/metrics',
  grid: 'src-main/services/grid',
  rasters: 'src-main/services/rasters',
  compute: 'src-main/services/compute',
  common: 'src-main/services/common',
};

/** Single files that are a level of their own. */
const singleFiles = {
  main: 'src-main/index.ts',
  services: 'src-main/services/index.ts', // composition of all services
  events: 'src-main/services/events.ts', // the event bus
  paths: 'src-main/services/paths.ts', // leaf: anything in main may use it
  'package.json': 'package.json',
};

/** Each name used in `mayImport`, as a boundaries entity selector. */
const selectors = {
  ...Object.fromEntries(Object.keys(folders).map((type) => [type, { element: { type } }])),
  ...Object.fromEntries(
    Object.keys(singleFiles).map((category) => [category, { file: { categories: category } }]),
  ),
};

/** The bottom group of services, and what each may use besides the leaves (common, paths, shared). */
const bottom = {
  report: ['metrics', 'rasters', 'grid'],
  physics: ['compute', 'grid'],
  metrics: ['compute'], // the native addon's BLAS/LAPACK and SSIM/FSS kernels (metrics/native.ts)
  grid: ['rasters'],
  rasters: [],
  compute: [],
};
const bottomAll = Object.keys(bottom);
const leaves = ['common', 'paths', 'shared'];
/** Everything in services/ but project/, which is named explicitly where it may be used. */
const services = [
  'services',
  'app-info',
  'events',
  'jobs',
  'calibration',
  'surrogate',
  'datasets',
  ...bottomAll,
  ...leaves,
];

/** from -> what it may import besides itself. Everything else is an error. */
const mayImport = {
  shared: [],
  preload: ['shared'],
  renderer: ['shared'], // main only through window.api in lib/api.ts
  main: ['app', 'ipc', ...services, 'package.json'],
  app: ['ipc', ...services],
  ipc: [...services, 'project'],
  server: ['ipc', ...services, 'project'],
  cli: ['server', 'ipc', ...services, 'project', 'package.json'],
  services: [...services, 'project'],
  'app-info': ['project', 'compute', ...leaves],
  events: ['shared'],
  paths: ['shared'],
  project: ['events', 'datasets', ...bottomAll, ...leaves],
  jobs: ['project', 'events', 'calibration', 'surrogate', 'datasets', ...bottomAll, ...leaves],
  calibration: ['surrogate', 'datasets', ...bottomAll, ...leaves],
  surrogate: ['datasets', ...bottomAll, ...leaves],
  datasets: ['physics', 'grid', 'rasters', ...leaves],
  ...Object.fromEntries(Object.entries(bottom).map(([k, v]) => [k, [...v, ...leaves]])),
  common: ['shared'],
};

// A misspelt name would make a selector `undefined`; fail loudly instead.
for (const name of [...Object.keys(mayImport), ...Object.values(mayImport).flat()]) {
  if (!selectors[name]) throw new Error(`eslint.config.mjs: mayImport names unknown "${name}"`);
}

const boundariesPolicies = Object.entries(mayImport).map(([from, to]) => ({
  from: selectors[from],
  allow: { to: [from, ...to].map((name) => selectors[name]) },
}));

const boundariesConfig = {
  files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-preload/**/*.ts', 'src-renderer/**/*.{ts,svelte}'],
  plugins: { boundaries },
  settings: {
    'boundaries/elements': Object.entries(folders).map(([type, pattern]) => ({
      type,
      pattern,
      partialMatch: false,
    })),
    'boundaries/files': Object.entries(singleFiles).map(([category, pattern]) => ({ category, pattern })),
    // The default import, export and dynamic-import nodes, except Vite asset imports (`./x.sql?raw`).
    'boundaries/dependency-nodes': ['dynamic-import', 'export'],
    'boundaries/additional-dependency-nodes': [
      {
        selector: 'ImportDeclaration:not([importKind=type]) > Literal:not([value=/\\?raw$/])',
        kind: 'value',
        name: 'import',
      },
      { selector: 'ImportDeclaration[importKind=type] > Literal', kind: 'type', name: 'import' },
    ],
    // Plain relative resolution; `./x.svelte` resolves to x.svelte.ts when there is no x.svelte.
    'import/resolver': { node: { extensions: ['.ts', '.svelte', '.js', '.json'] } },
  },
  rules: {
    'boundaries/no-unknown-files': 'error',
    'boundaries/no-unknown-dependencies': 'error',
    'boundaries/dependencies': ['error', { default: 'disallow', policies: boundariesPolicies }],
  },
};

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'scratch/**',
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'resources/**',
      'tests/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: {
        projectService: false,
        extraFileExtensions: ['.svelte'],
        parser: tseslint.parser,
        svelteConfig,
      },
    },
  },
  // Import directions between folders, by resolved path (see mayImport above).
  boundariesConfig,
  // src-shared: pure TypeScript: no node:*, no electron, no DOM.
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      ...forbidModules(noElectron, noNode),
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer', 'require'],
    },
  },
  // src-preload: electron + src-shared only.
  { files: ['src-preload/**/*.ts'], rules: forbidModules(noNode) },
  // src-renderer: never electron or node; main only through lib/api.ts.
  {
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...forbidModules(noElectron, noNode),
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='window'][property.name='api']",
          message: 'Only src-renderer/src/lib/api.ts touches window.api.',
        },
      ],
    },
  },
  { files: ['src-renderer/src/lib/api.ts'], rules: { 'no-restricted-syntax': 'off' } },
  // src-main outside index/app/ipc and jobs/host*: no electron.
  {
    files: ['src-main/services/**/*.ts', 'src-main/server/**/*.ts', 'src-main/cli/**/*.ts'],
    ignores: ['src-main/services/jobs/host*.ts'],
    rules: forbidModules(noElectron),
  },
);
