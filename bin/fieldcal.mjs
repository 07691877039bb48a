#!/usr/bin/env node
// The `fieldcal` command: runs the CLI bundle built by `npm run build` (out/main/cli.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(
    'fieldcal: the app is not built yet; run `npm run build` (or `npm run setup`) first\n',
  );
  process.exit(1);
}
await import(pathToFileURL(cli).href);
