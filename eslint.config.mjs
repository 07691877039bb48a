// Lint rules, including the import directions of DESIGN.md ("who may import whom").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import { builtinModules } from 'node:module';
import svelteConfig from './svelte.config.js';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noNode = { paths: nodeBuiltins.map((name) => ({ name, message: 'No Node built-ins in this layer.' })) };
const noElectron = {
  name: 'electron',
  message: 'Only src-main/index.ts, app/, ipc/ and jobs/host import electron.',
};

/** Forbids imports matching `groups` (gitignore-style patterns) with a message naming the rule. */
const forbid = (groups, message, extra = {}) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: groups, message }], paths: [...(extra.paths ?? [])] },
  ],
});

/** Layers of services/ from top to bottom; a layer may import only those after it. */
const serviceLayers = [
  ['jobs'],
  ['calibration'],
  ['surrogate'],
  ['physics', 'metrics', 'rasters', 'grid', 'compute', 'report'],
];

const layerRules = serviceLayers.flatMap((layer, i) => {
  const above = serviceLayers.slice(0, i).flat();
  // project/ is used by jobs/ and ipc/ only.
  const forbidden = [...above, ...(i === 0 ? [] : ['project'])];
  return layer.map((dir) => ({
    files: [`src-main/services/${dir}/**/*.ts`],
    rules: forbid(
      [
        ...forbidden.map((d) => `**/services/${d}`),
        ...forbidden.map((d) => `**/services/${d}/**`),
        '**/src-main/ipc/**',
        '**/src-main/server/**',
        '**/src-main/cli/**',
        '**/src-main/app/**',
        '../../ipc/**',
        '../../server/**',
        '../../cli/**',
        '../../app/**',
        ...forbidden.map((d) => `../${d}`),
        ...forbidden.map((d) => `../${d}/**`),
      ],
      `services/${dir} may not import upward (DESIGN.md: ipc -> jobs -> calibration -> surrogate -> {physics, metrics, rasters, grid, compute})`,
      { paths: [noElectron] },
    ),
  }));
});

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
  // src-shared: pure TypeScript, imports nothing outside itself.
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      ...forbid(
        ['**/src-main/**', '**/src-preload/**', '**/src-renderer/**', '../../*', '!../../src-shared/**'],
        'src-shared imports nothing outside itself.',
        { paths: [noElectron, ...noNode.paths] },
      ),
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer', 'require'],
    },
  },
  // src-preload: electron + src-shared only.
  {
    files: ['src-preload/**/*.ts'],
    rules: forbid(
      ['**/src-main/**', '**/src-renderer/**'],
      'The preload imports electron and src-shared only.',
      noNode,
    ),
  },
  // src-renderer: src-shared types only; never electron or node; main only through lib/api.ts.
  {
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...forbid(
        ['**/src-main/**', '**/src-preload/**'],
        'The renderer reaches main only through lib/api.ts.',
        {
          paths: [noElectron, ...noNode.paths],
        },
      ),
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
  // src-main outside index/app/ipc: no electron.
  {
    files: ['src-main/services/**/*.ts', 'src-main/server/**/*.ts', 'src-main/cli/**/*.ts'],
    ignores: ['src-main/services/jobs/host*.ts'],
    rules: forbid(
      ['**/src-renderer/**', '**/src-preload/**'],
      'Main does not import the renderer or preload.',
      {
        paths: [noElectron],
      },
    ),
  },
  ...layerRules,
);
