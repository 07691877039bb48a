import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { fileChecksum } from '../../common/checksum';
import { parseJobSpec } from '../specs';
import type { SweepChildEvent, SweepChildTask } from '../sweepExecutor';

/**
 * What the coordinator's {@link QueueSweepExecutor} and `fieldcal worker` agree on (issue 18).
 *
 * - One BullMQ queue, {@link QUEUE_NAME}; a child is one job whose id is its key (BullMQ refuses `:`
 *   in ids, so `:` and `%` are percent-encoded: {@link jobIdOf}), so a child is queued once, and
 *   whose data is the {@link SweepChildTask} as JSON (plus the coordinator's namespace).
 * - Events go back through BullMQ itself: the worker's `job.updateProgress(...)` carries
 *   {@link ChildProgress} messages (started, progress, checkpoint, error), which reach the
 *   coordinator as QueueEvents `progress`; the job's return value is the job worker's result message
 *   (QueueEvents `completed`), a child that fails is a failed job (QueueEvents `failed`; the typed
 *   error is its last progress message). Completed and failed jobs stay in Redis for
 *   {@link KEEP_SECONDS}: a restarted coordinator reads them back (`pending`).
 * - Cancelling a running child sets {@link cancelKey}; the worker polls it and stops the child at its
 *   next iteration (its result then says `cancelled`).
 */
export const QUEUE_NAME = 'fieldcal-sweep-children';
/** How long finished jobs (and cancel flags) stay in Redis for a coordinator to read back. */
export const KEEP_SECONDS = 7 * 24 * 3600;

/** The BullMQ job id of a child key in a namespace (`:` and `%` percent-encoded). */
export function jobIdOf(key: string, namespace = ''): string {
  const enc = (s: string) => s.replaceAll('%', '%25').replaceAll(':', '%3A').replaceAll('/', '%2F');
  return namespace ? `${enc(namespace)}/${enc(key)}` : enc(key);
}

/** The namespace and key of a job id made by {@link jobIdOf}. */
export function keyOfJobId(id: string): { namespace: string; key: string } {
  const dec = (s: string) => s.replaceAll('%2F', '/').replaceAll('%3A', ':').replaceAll('%25', '%');
  const slash = id.indexOf('/');
  return slash < 0
    ? { namespace: '', key: dec(id) }
    : { namespace: dec(id.slice(0, slash)), key: dec(id.slice(slash + 1)) };
}

export const cancelKey = (jobId: string) => `fieldcal:sweep-cancel:${jobId}`;

/** The checkpoint a worker keeps beside the child's outputs, so another worker resumes from it. */
export const checkpointFile = (outDir: string) => join(outDir, 'checkpoints', 'last.json');

/** The messages a worker posts as job progress. */
export type ChildProgress =
  | { kind: 'started'; key: string; worker: string }
  | { kind: 'progress'; key: string; progress: Extract<SweepChildEvent, { type: 'progress' }>['progress'] }
  | { kind: 'checkpoint'; key: string; iteration: number; file: string }
  | {
      kind: 'error';
      key: string;
      worker: string;
      error: { code: string; message: string; details?: unknown };
    };

/** A job's return value: the job worker's result message and who ran it. */
export interface ChildReturn {
  kind: 'result';
  key: string;
  worker: string;
  result: Extract<SweepChildEvent, { type: 'result' }>['result'];
}

const taskSchema = z.object({
  key: z.string().min(1).max(500),
  sweepId: z.number().int(),
  index: z.number().int().min(0),
  runId: z.number().int(),
  spec: z.unknown(),
  outDir: z.string().min(1).max(4096),
  dataChecksums: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex')).optional(),
  resume: z.unknown().optional(),
  namespace: z.string().max(200).optional(),
});

/** Job data as the worker receives it: anything that is not a child task with a valid job spec is refused, naming the field. */
export function parseChildTask(data: unknown): SweepChildTask & { namespace?: string | undefined } {
  const r = taskSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = i.path.join('.') || '(data)';
    throw new FieldcalError('VALIDATION', `malformed sweep child: ${field}: ${i.message}`, { field });
  }
  if (!isAbsolute(r.data.outDir))
    throw new FieldcalError(
      'VALIDATION',
      `malformed sweep child: outDir: ${r.data.outDir} is not an absolute path`,
      {
        field: 'outDir',
      },
    );
  const spec = parseJobSpec(r.data.spec, `sweep child ${r.data.key} spec`);
  return { ...r.data, spec, outDir: resolve(r.data.outDir) };
}

/**
 * Checks the files a worker would read against the coordinator's SHA-256s (`dataChecksums`: path →
 * hex digest, a relative path being inside the child's `dataset.path`). A missing or different
 * file refuses the child with INCONSISTENT_DATA naming the file.
 */
export async function verifyDataChecksums(task: SweepChildTask): Promise<void> {
  const sums = task.dataChecksums;
  if (!sums) return;
  const root = task.spec.dataset?.path;
  for (const [file, want] of Object.entries(sums)) {
    const path = isAbsolute(file) ? file : root ? join(root, file) : null;
    if (!path)
      throw new FieldcalError(
        'VALIDATION',
        `sweep child ${task.key}: dataChecksums names ${file}, a relative path, but the child has no dataset`,
        { field: 'dataChecksums', file },
      );
    let got: string;
    try {
      got = (await fileChecksum(path)).checksum;
    } catch (err) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `sweep child ${task.key}: this worker cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): its data are not the coordinator's`,
        { file: path },
      );
    }
    if (got !== want)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `sweep child ${task.key}: ${path} differs from the coordinator's copy (SHA-256 ${got.slice(0, 12)}… here, ${want.slice(0, 12)}… recorded): this worker refuses the child`,
        { file: path, expected: want, found: got },
      );
  }
}

/** The SHA-256 of each file (absolute path → hex), for `dataChecksums`. */
export async function dataChecksumsOf(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) out[resolve(p)] = (await fileChecksum(p)).checksum;
  return out;
}

/** `CODE: message` (a failed job's reason) back to a typed error. */
export function errorOfReason(reason: string): { code: string; message: string } {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1]!, message: m[2]! } : { code: 'INTERNAL', message: reason };
}
