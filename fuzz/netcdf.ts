// NetCDF fuzzer: structure-aware mutations of netCDF-3 headers (magic and version, numrecs, dimension
// lengths, name lengths, attribute types and counts, variable types, vsize and begin offsets) and of
// netCDF-4/HDF5 files (superblock bytes, random bytes, truncation), each opened as a stack by Fieldcal
// and every step read: a typed error naming the file or values, never a crash or a hang.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summariseStack } from '../src-main/services/rasters/open';
import { openNetcdfStack } from '../src-main/services/rasters/netcdf';
import { rng, Tally, tools, withScratch } from './fileHarness';
import type { FuzzReport } from './registry';

const SEEDS = [
  'tests/fixtures/netcdf/prcp_nc3.nc',
  'tests/fixtures/netcdf/notime.nc',
  'tests/fixtures/netcdf/tas_nc4.nc',
];
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8 };

export interface Field {
  pos: number;
  width: 4 | 8;
  kind: 'numrecs' | 'tag' | 'count' | 'name-length' | 'dim-length' | 'type' | 'dimid' | 'vsize' | 'begin';
}

/** The positions of every numeric field of a netCDF-3 header (NetCDF classic format specification). */
export function nc3Fields(b: Buffer): Field[] {
  const fields: Field[] = [];
  const v2 = b[3] === 2;
  let p = 4;
  const u32 = () => {
    const v = b.readUInt32BE(p);
    p += 4;
    return v;
  };
  const field = (kind: Field['kind'], width: 4 | 8 = 4) => {
    fields.push({ pos: p, width, kind });
    if (width === 8) {
      p += 8;
      return Number(b.readBigUInt64BE(p - 8));
    }
    return u32();
  };
  const name = () => {
    const n = field('name-length');
    p += Math.ceil(n / 4) * 4;
  };
  const attrs = () => {
    field('tag');
    const n = field('count');
    for (let i = 0; i < n; i++) {
      name();
      const t = field('type');
      const m = field('count');
      p += Math.ceil((m * (TYPE_SIZE[t] ?? 1)) / 4) * 4;
    }
  };
  try {
    field('numrecs');
    field('tag');
    const nd = field('count');
    for (let i = 0; i < nd; i++) {
      name();
      field('dim-length');
    }
    attrs();
    field('tag');
    const nv = field('count');
    for (let i = 0; i < nv; i++) {
      name();
      const k = field('count');
      for (let j = 0; j < k; j++) field('dimid');
      attrs();
      field('type');
      field('vsize');
      field('begin', v2 ? 8 : 4);
    }
  } catch {
    // a header cut short: the fields found so far
  }
  return fields.filter((f) => f.pos + f.width <= b.length);
}

function mutate(src: Buffer, t: ReturnType<typeof tools>): { bytes: Buffer; what: string[] } {
  let b = Buffer.from(src);
  const what: string[] = [];
  const nc3 = b.toString('latin1', 0, 3) === 'CDF';
  const rounds = t.int(1, 3);
  for (let k = 0; k < rounds; k++) {
    const fields = nc3 ? nc3Fields(b) : [];
    const kind = nc3
      ? t.pick(['version', 'field', 'field', 'field', 'field', 'truncate', 'bytes'] as const)
      : t.pick(['superblock', 'superblock', 'truncate', 'bytes', 'bytes'] as const);
    if (kind === 'version') {
      b[3] = t.pick([0, 1, 2, 5, 255]);
      what.push('version');
    } else if (kind === 'field' && fields.length) {
      const f = t.pick(fields);
      const v = t.r() < 0.5 ? t.edge(b.length) : t.int(0, 16);
      if (f.width === 8) b.writeBigUInt64BE(BigInt(v), f.pos);
      else b.writeUInt32BE(v >>> 0, f.pos);
      what.push(f.kind);
    } else if (kind === 'superblock') {
      // HDF5 superblock: signature, versions, sizes of offsets and lengths, addresses (first 96 bytes)
      const n = t.int(1, 4);
      for (let i = 0; i < n; i++)
        b[t.int(8, Math.min(95, b.length - 1))] = t.pick([0, 1, 2, 4, 8, 0x7f, 0xff]);
      what.push('superblock');
    } else if (kind === 'truncate') {
      b = b.subarray(0, t.int(0, b.length - 1));
      what.push('truncate');
    } else {
      const n = t.int(1, 8);
      for (let i = 0; i < n && b.length; i++) b[t.int(0, b.length - 1)] = t.int(0, 255);
      what.push('bytes');
    }
  }
  return { bytes: Buffer.from(b), what };
}

export async function netcdfFuzz(count: number, seed: number): Promise<FuzzReport> {
  return withScratch('fieldcal-fuzz-nc-', async (dir) => {
    const t = tools(rng(seed));
    const seeds = SEEDS.map((f) => readFileSync(f));
    const tally = new Tally();
    const mutations: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const { bytes, what } = mutate(t.pick(seeds), t);
      for (const w of what) mutations[w] = (mutations[w] ?? 0) + 1;
      const file = join(dir, `m${i}.nc`);
      writeFileSync(file, bytes);
      await tally.run(`#${i} ${what.join('+')}`, file, 10_000, async () => {
        const s = await openNetcdfStack(file);
        try {
          const summary = await summariseStack(s);
          if (s.grid.rows > 0 && s.grid.cols > 0) await s.readColumn(0, 0);
          return summary;
        } finally {
          // an accepted file's HDF5 handle is released, as every caller of a stack does when done
          s.close?.();
        }
      });
    }
    return { ...tally.report(count), seeds: seeds.length, mutations };
  });
}
