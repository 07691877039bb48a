// `npm run bench -- NAME`: runs one benchmark and prints its result as JSON on stdout.
import { benches } from './registry';

const name = process.argv[2];
if (!name || !(name in benches)) {
  process.stderr.write(`usage: npm run bench -- NAME   (one of: ${Object.keys(benches).join(', ')})\n`);
  process.exit(2);
}
const result = await benches[name]!();
process.stdout.write(`${JSON.stringify({ bench: name, ...result }, null, 2)}\n`);
