import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import { FieldcalError } from '../../../../src-shared/ipc';

/**
 * The Redis connection of a sweep queue (issue 18): a `redis://[user]:password@host:port[/db]` URL
 * (`rediss://` for TLS). Redis without a password is refused unless `FIELDCAL_QUEUE_INSECURE=1`; a
 * host beyond loopback is refused unless `FIELDCAL_QUEUE_REMOTE=1` (reaching other machines is the
 * user's explicit choice, as for `fieldcal serve --host`). The password is never printed or
 * recorded: {@link QueueConnection.where} is the URL with it redacted.
 */
export interface QueueConnection {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** The URL without its password (`redis://:***@127.0.0.1:6390/0`): what may be shown or stored. */
  where: string;
}

/** Loopback as for the server: localhost, ::1, 127.0.0.0/8. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

const refuse = (message: string, details: Record<string, unknown> = {}) =>
  new FieldcalError('VALIDATION', `queue: ${message}`, { field: 'queue', ...details });

/** Parses and checks a queue URL; typed VALIDATION errors name `queue` and never hold the password. */
export function parseQueueUrl(url: string, env: NodeJS.ProcessEnv = process.env): QueueConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw refuse('expected redis://[user]:password@host:port[/db]');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw refuse(`expected redis:// or rediss://, not ${u.protocol}//`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw refuse('the URL names no host');
  const port = u.port ? Number(u.port) : 6379;
  const dbPart = u.pathname.replace(/^\//, '');
  const db = dbPart === '' ? 0 : Number(dbPart);
  if (!Number.isInteger(db) || db < 0 || db > 15)
    throw refuse(`the database ${JSON.stringify(dbPart)} is not an integer 0..15`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const where = `${u.protocol}//${username ? `${encodeURIComponent(username)}:` : password ? ':' : ''}${password ? '***@' : username ? '@' : ''}${u.host}/${db}`;
  if (!password && env.FIELDCAL_QUEUE_INSECURE !== '1')
    throw refuse(
      `${where} has no password: Redis must require one (requirepass); set FIELDCAL_QUEUE_INSECURE=1 to use it without`,
      { where },
    );
  if (!isLoopbackHost(host) && env.FIELDCAL_QUEUE_REMOTE !== '1')
    throw refuse(
      `${where} is not on this machine (loopback): set FIELDCAL_QUEUE_REMOTE=1 to use a queue other machines reach`,
      { where },
    );
  return { host, port, db, username, password, tls: u.protocol === 'rediss:', where };
}

/** ioredis / BullMQ connection options (BullMQ requires `maxRetriesPerRequest: null` for workers). */
export function redisOptions(c: QueueConnection) {
  return {
    host: c.host,
    port: c.port,
    db: c.db,
    ...(c.username ? { username: c.username } : {}),
    ...(c.password ? { password: c.password } : {}),
    ...(c.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Connects once, without retrying, and checks the server answers: a wrong password is an
 * UNAUTHORIZED error, an unreachable server an IO error (both naming the redacted URL). Returns a
 * client with BullMQ's usual reconnecting settings once the check passed.
 */
export async function probeQueue(c: QueueConnection, timeoutMs = 5000): Promise<Redis> {
  const probe = new Redis({
    ...redisOptions(c),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    // the PING below says what is wrong (NOAUTH, WRONGPASS); the ready check would only close
    enableReadyCheck: false,
  });
  // errors surface through connect() / ping(); the event must have a listener or it throws
  let lastError = '';
  probe.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    let m = (err as Error).message ?? String(err);
    if (/Connection is closed/.test(m) && lastError) m = lastError;
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(m))
      throw new FieldcalError('UNAUTHORIZED', `queue: ${c.where} refused the password (${m.split(' ')[0]})`, {
        field: 'queue',
        where: c.where,
      });
    throw new FieldcalError(
      'IO',
      `queue: cannot reach Redis at ${c.where}: ${m.replaceAll(c.password ?? '\u0000', '***')}`,
      {
        field: 'queue',
        where: c.where,
      },
    );
  }
  probe.disconnect();
  const client = new Redis(redisOptions(c));
  client.on('error', () => undefined);
  return client;
}
