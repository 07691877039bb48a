import { promises as fsp, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import { copyFileAtomic, writeFileAtomic } from '../../../../src-main/services/common/atomicFile';
import { tempDir } from '../../../helpers/tmp';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

describe('writeFileAtomic', () => {
  it('replaces the file whole, flushes the file and then its folder, and leaves no temporary', async () => {
    const dest = join(tmp.dir, 'a.json');
    writeFileSync(dest, 'old');
    const open = vi.spyOn(fsp, 'open');
    const size = await writeFileAtomic(dest, (t) => fsp.writeFile(t, '{"new":true}'));
    expect(size).toBe(12);
    expect(readFileSync(dest, 'utf8')).toBe('{"new":true}');
    // the temporary file for its data, then the folder for the rename (POSIX fsync of a directory)
    const opened = open.mock.calls.map((c) => [String(c[0]), c[1]]);
    expect(opened).toHaveLength(2);
    expect(opened[0]![0]).toMatch(/\.a\.json\.[0-9a-f]{12}\.tmp$/);
    expect(opened[1]).toEqual([tmp.dir, 'r']);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the old file and removes the temporary when the write fails, with a typed error naming the file', async () => {
    const dest = join(tmp.dir, 'b.json');
    writeFileSync(dest, 'kept');
    const err = await writeFileAtomic(dest, async (t) => {
      await fsp.writeFile(t, 'half');
      throw new Error('disk full');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldcalError);
    expect((err as FieldcalError).code).toBe('IO');
    expect((err as FieldcalError).message).toContain(dest);
    expect(readFileSync(dest, 'utf8')).toBe('kept');
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to replace an existing file unless asked, and copies atomically', async () => {
    const src = join(tmp.dir, 'src.bin');
    const dest = join(tmp.dir, 'c.bin');
    writeFileSync(src, Buffer.from([1, 2, 3]));
    writeFileSync(dest, 'x');
    const err = await copyFileAtomic(src, dest, false).catch((e: unknown) => e);
    expect((err as FieldcalError).code).toBe('CONFLICT');
    expect(readFileSync(dest, 'utf8')).toBe('x');
    expect(await copyFileAtomic(src, dest, true)).toBe(3);
    expect([...readFileSync(dest)]).toEqual([1, 2, 3]);
  });

  it('reports a written file as written where the folder cannot be flushed (Windows: EPERM)', async () => {
    const dest = join(tmp.dir, 'e.txt');
    const real = fsp.open.bind(fsp);
    const synced: string[] = [];
    vi.spyOn(fsp, 'open').mockImplementation((async (p: string, flags?: string) => {
      const fh = await real(p, flags);
      if (p !== tmp.dir) return fh;
      fh.sync = () => {
        synced.push(p);
        return Promise.reject(Object.assign(new Error('EPERM'), { code: 'EPERM' }));
      };
      return fh;
    }) as typeof fsp.open);
    expect(await writeFileAtomic(dest, (t) => fsp.writeFile(t, 'done'))).toBe(4);
    expect(synced).toEqual([tmp.dir]);
    expect(readFileSync(dest, 'utf8')).toBe('done');
  });

  it('still writes where the folder cannot be opened for flushing', async () => {
    const dest = join(tmp.dir, 'd.txt');
    const real = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation(((p: string, flags?: string) =>
      p === tmp.dir
        ? Promise.reject(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }))
        : real(p, flags)) as typeof fsp.open);
    expect(await writeFileAtomic(dest, (t) => fsp.writeFile(t, 'ok'))).toBe(2);
    expect(readFileSync(dest, 'utf8')).toBe('ok');
  });
});
