// The renderer's Vite config on its own (the same as electron.vite.config.ts's renderer section), for
// scripts/dev-renderer.sh.
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = resolve(import.meta.dirname, '..');
export default {
  root: resolve(root, 'src-renderer'),
  base: './',
  plugins: [svelte({ configFile: resolve(root, 'svelte.config.js') })],
  build: {
    chunkSizeWarningLimit: 2000,
    rollupOptions: { input: { index: resolve(root, 'src-renderer/index.html') } },
  },
};
