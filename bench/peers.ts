import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The CPU the benches run on: model name and the SIMD instruction sets that matter for dense
 * kernels (from /proc/cpuinfo; empty off Linux).
 */
export function cpuInfo(): { model: string; isa: string[]; cores: number } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return { model: 'unknown', isa: [], cores: 0 };
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const isa = [
    'sse4_2',
    'avx',
    'avx2',
    'fma',
    'avx512f',
    'avx512dq',
    'avx512bw',
    'avx512vl',
    'avx512_vnni',
    'avx512_bf16',
  ];
  return {
    model,
    isa: isa.filter((f) => flags.has(f)),
    cores: (text.match(/^processor\s*:/gm) ?? []).length,
  };
}

/**
 * OpenBLAS's kernel family for this CPU, for OPENBLAS_CORETYPE: Debian's OpenBLAS 0.3.21 does not
 * know recent CPUs (an AVX-512 EPYC or Xeon comes out as "Prescott", the SSE3 kernels; issue 22).
 * SkylakeX needs AVX-512 F/DQ/BW/VL, Haswell AVX2 + FMA (OpenBLAS's cpuid_x86.c feature tests).
 */
export function openblasCoretype(isa: string[]): string | null {
  const has = (f: string) => isa.includes(f);
  if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every(has)) return 'SkylakeX';
  if (has('avx2') && has('fma')) return 'Haswell';
  if (has('avx')) return 'Sandybridge';
  return null;
}

const ALT_DIR = '/usr/lib/x86_64-linux-gnu';
const ALTERNATIVES = [
  { name: 'libblas.so.3-x86_64-linux-gnu', openblas: `${ALT_DIR}/openblas-pthread/libblas.so.3` },
  { name: 'liblapack.so.3-x86_64-linux-gnu', openblas: `${ALT_DIR}/openblas-pthread/liblapack.so.3` },
];

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 900_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Where the BLAS and LAPACK alternatives point now. */
function alternatives(): Record<string, string | null> {
  return Object.fromEntries(
    ALTERNATIVES.map((a) => {
      const r = run('update-alternatives', ['--query', a.name]);
      return [a.name, r.ok ? (/^Value:\s*(.+)$/m.exec(r.out)?.[1]?.trim() ?? null) : null];
    }),
  );
}

export interface PeerSetup {
  /** The Python to run peers with (Debian's, whose numpy and torch use the BLAS alternatives). */
  python: string;
  /** Environment for the peer process. */
  env: NodeJS.ProcessEnv;
  /** What was found, installed and set, for the bench's JSON. */
  report: Record<string, unknown>;
}

/**
 * Sets a peer up at its best on this CPU: Debian's OpenBLAS (pthread build) installed and chosen as
 * libblas.so.3 / liblapack.so.3 (else numpy and PyTorch run on the unoptimised reference BLAS),
 * `OPENBLAS_CORETYPE` from the CPU's instruction sets, `OMP_WAIT_POLICY=passive` (OpenMP threads
 * sleep instead of spinning against OpenBLAS's), and the same thread count as ours. Installs with
 * apt-get only as root; otherwise it reports what is missing and runs the peer as it is.
 */
export function peerSetup(opts: { threads: number; packages: string[] }): PeerSetup {
  const cpu = cpuInfo();
  const coretype = openblasCoretype(cpu.isa);
  const wanted = ['libopenblas0-pthread', ...opts.packages];
  const missing = wanted.filter((p) => !/Status: install ok installed/.test(run('dpkg', ['-s', p]).out));
  const root = process.getuid?.() === 0;
  const actions: string[] = [];
  if (missing.length && root && existsSync('/usr/bin/apt-get')) {
    const r = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
    actions.push(`apt-get install ${missing.join(' ')}: ${r.ok ? 'ok' : r.out.trim().split('\n').pop()}`);
  }
  const before = alternatives();
  for (const a of ALTERNATIVES) {
    if (before[a.name] !== a.openblas && root && existsSync(a.openblas)) {
      const r = run('update-alternatives', ['--set', a.name, a.openblas]);
      actions.push(`update-alternatives --set ${a.name} ${a.openblas}: ${r.ok ? 'ok' : r.out.trim()}`);
    }
  }
  const threads = String(opts.threads);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_WAIT_POLICY: 'passive',
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
    ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}),
  };
  const still = wanted.filter((p) => !/Status: install ok installed/.test(run('dpkg', ['-s', p]).out));
  return {
    python: '/usr/bin/python3',
    env,
    report: {
      cpu_model: cpu.model,
      isa: cpu.isa,
      OPENBLAS_CORETYPE: coretype,
      OMP_WAIT_POLICY: 'passive',
      threads: opts.threads,
      blas_alternatives: alternatives(),
      set_up: actions.length ? actions : 'nothing to do',
      ...(still.length ? { missing_packages: still } : {}),
    },
  };
}
