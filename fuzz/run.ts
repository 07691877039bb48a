// `npm run fuzz -- NAME [N] [--seed S]` runs one fuzzer on N inputs; `npm run fuzz -- N` runs every one.
// Prints each report as JSON on stdout; exits 1 when any input crashed or hung.
import { fuzzers, type FuzzReport } from './registry';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 1;
const usage = (): never => {
  process.stderr.write(
    `usage: npm run fuzz -- [NAME] [N] [--seed S]   (NAME one of: ${Object.keys(fuzzers).join(', ')})\n`,
  );
  process.exit(2);
};
let names: string[];
let count: number;
if (args[0] !== undefined && /^\d+$/.test(args[0])) {
  names = Object.keys(fuzzers);
  count = Number(args[0]);
} else {
  const name = args[0];
  if (!name || !(name in fuzzers)) usage();
  names = [name!];
  count = args[1] === undefined ? 300 : Number(args[1]);
}
if (!Number.isInteger(count) || count < 1 || !Number.isFinite(seed)) usage();

let failed = false;
for (const name of names) {
  const report: FuzzReport = await fuzzers[name]!(count, seed);
  if (report.crashes > 0 || report.hangs > 0) failed = true;
  process.stdout.write(`${JSON.stringify({ fuzz: name, seed, ...report }, null, 2)}\n`);
}
process.exit(failed ? 1 : 0);
