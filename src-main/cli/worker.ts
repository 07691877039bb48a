import { InvalidArgumentError, type Command } from 'commander';
import { startQueueWorker } from '../services/jobs/queue/worker';

function positiveInt(what: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`${what} is an integer 1..${max}`);
    return n;
  };
}

/**
 * `fieldcal worker --queue redis://:password@host:port`: takes sweep children from a BullMQ queue
 * (issue 18) until SIGINT / SIGTERM. One line per child on stderr; with --json, one JSON line on
 * stdout once it listens ({name, where}: the URL without its password).
 */
export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'take sweep children from a Redis (BullMQ) queue and run them; data and run folders are shared with the coordinator',
    )
    .requiredOption('--queue <url>', 'redis://[user]:password@host:port[/db] (a password is required)')
    .option(
      '--concurrency <n>',
      'children at once, each in its own thread',
      positiveInt('--concurrency', 256),
      1,
    )
    .option('--name <name>', "this worker's name in the sweep's table (default host:pid)")
    .option(
      '--lock-ms <ms>',
      'job lock: a child of a worker that died goes to another one after this long',
      positiveInt('--lock-ms', 3_600_000),
      30_000,
    )
    .option('--json', 'print {name, where} as one JSON line on stdout once listening')
    .action(
      async (o: { queue: string; concurrency: number; name?: string; lockMs: number; json?: boolean }) => {
        const handle = await startQueueWorker({
          url: o.queue,
          concurrency: o.concurrency,
          ...(o.name ? { name: o.name } : {}),
          lockMs: o.lockMs,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (o.json) process.stdout.write(`${JSON.stringify({ name: handle.name, where: handle.where })}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.stderr.write(`worker ${handle.name}: stopping\n`);
            void handle.close().then(resolve, resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        process.exit(0);
      },
    );
}
