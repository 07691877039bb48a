import { Command, InvalidArgumentError } from 'commander';
import { version } from '../../package.json';
import { FieldcalError, type AppInfo } from '../../src-shared/ipc';
import { startServer } from '../server/server';
import { addInspectCommand } from './inspect';
import { addEvaluateCommand } from './evaluate';
import { addDemoCommand } from './demo';
import { addCalibrateCommand } from './calibrate';
import { addTwinCommands } from './twin';
import { addSimulateCommands } from './simulate';
import { addExperimentCommand } from './experiment';
import { addAssembleCommand } from './assemble';
import { addSweepCommand } from './sweep';
import { addWorkerCommand } from './worker';
import { addKgsslCommand } from './kgssl';
import { isLoopback } from '../server/auth';
import { createServices } from '../services';
import { loadMethodModules } from '../services/calibration/registry';
import { artifactFile } from '../services/project/services';
import { defaultPaths, rendererDir } from '../services/paths';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is an integer 0..65535');
  return n;
}

/** Human-readable `fieldcal info`. */
export function formatInfo(info: AppInfo): string {
  const rows: Array<[string, string]> = [
    ['Fieldcal', info.version],
    ['Node', info.versions.node],
    ['Electron (package)', info.versions.electronPackage ?? 'not installed'],
    ['Electron (runtime)', info.versions.electron ?? 'not running in Electron'],
    ['TensorFlow.js', info.versions.tfjs],
    [
      'Compute backend',
      `${info.compute.backend} (${info.compute.threads} thread${info.compute.threads === 1 ? '' : 's'})`,
    ],
    ...info.compute.tried
      .filter((t) => !t.ok)
      .map((t): [string, string] => [`  ${t.backend}`, `unavailable: ${t.reason ?? ''}`]),
    ['SQLite', info.versions.sqlite],
    ['Project schema', String(info.project.schemaVersion)],
    ['User data', info.paths.userData],
    ['Resources', info.paths.resources],
    ['Sample data', info.paths.sampleData],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** Builds the `fieldcal` command. Exported for tests, which run it without spawning a process. */
export function buildCli(): Command {
  const program = new Command('fieldcal')
    .description('Learn spatially distributed hydrologic model parameters from data')
    .version(version);

  program
    .command('info')
    .description('print versions, the compute backend, the project schema version and data paths')
    .option('--json', 'print one JSON object on stdout')
    .action(async (o: { json?: boolean }) => {
      const services = createServices({ mode: 'cli', version, paths: defaultPaths() });
      const info = await services.impls.appInfo.get({});
      process.stdout.write(o.json ? `${JSON.stringify(info)}\n` : `${formatInfo(info)}\n`);
      services.dispose();
    });

  program
    .command('serve')
    .description('serve the app over HTTP and its API over a WebSocket, both behind a per-launch token')
    .option('--port <n>', 'port (0 = any free port)', parsePort, 5757)
    .option(
      '--host <host>',
      'interface to bind; anything but loopback exposes the app to the network',
      '127.0.0.1',
    )
    .option('--project <path>', 'open this project file at start')
    .option('--json', 'print {url, host, port} as JSON on stdout')
    .action(async (o: { port: number; host: string; project?: string; json?: boolean }) => {
      const dir = rendererDir();
      if (!existsSync(join(dir, 'index.html'))) {
        throw new FieldcalError(
          'NOT_FOUND',
          `The renderer is not built (${dir}); run \`npm run build\` first`,
          {
            path: dir,
          },
        );
      }
      const services = createServices({ mode: 'server', version, paths: defaultPaths() });
      if (o.project) services.session.open(o.project);
      const server = await startServer({
        impls: services.impls,
        events: services.events,
        rendererDir: dir,
        artifactFile: (runId, name) => artifactFile(services.session, runId, name),
        host: o.host,
        port: o.port,
      });
      if (!isLoopback(server.host)) {
        process.stderr.write(
          `warning: listening on ${server.host}: anyone who can reach it and has the URL can use it\n`,
        );
      }
      process.stdout.write(
        o.json
          ? `${JSON.stringify({ url: server.url, host: server.host, port: server.port })}\n`
          : `Fieldcal is serving on ${server.url}\nOpen that URL in a browser (Ctrl+C stops the server).\n`,
      );
      const stop = () => {
        void server.close().then(() => {
          services.dispose();
          process.exit(0);
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  addInspectCommand(program);
  addEvaluateCommand(program);
  addDemoCommand(program);
  addCalibrateCommand(program);
  addTwinCommands(program);
  addSimulateCommands(program);
  addExperimentCommand(program);
  addAssembleCommand(program);
  addSweepCommand(program);
  addWorkerCommand(program);
  addKgsslCommand(program);
  return program;
}

/** Entry point of the `fieldcal` bin. Typed errors print as one line (or JSON) and exit 1. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    // methods added as plugins (FIELDCAL_METHOD_MODULES) are known to every command
    await loadMethodModules();
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof FieldcalError) {
      process.stderr.write(`fieldcal: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`fieldcal: ${(err as Error).stack ?? String(err)}\n`);
    }
    process.exitCode = 1;
  }
}
