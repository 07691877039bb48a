// Child of the ensemble SIGKILL test (ensembleKill.test.ts): generates (or continues) a small
// vic3l ensemble under the folder given, printing `complete K` after every stored member and
// `done CALLS` at the end with the number of model runs this process made.
import { generateEnsemble } from '../../src-main/services/surrogate/ensemble';
import { smallProblem, vicRun } from '../unit/main/surrogate/ensembleFixture';
import { KILL_SPEC, KILL_GRID } from './ensembleKillSpec';

const [dir] = process.argv.slice(2) as [string];
const pr = smallProblem(...KILL_GRID);
const model = vicRun(pr);
process.stdout.write('started\n');
await generateEnsemble(pr, KILL_SPEC, model.run, {
  dir,
  progress: (k) => process.stdout.write(`complete ${k}\n`),
});
process.stdout.write(`done ${model.calls()}\n`);
