// Issue 16: 32 concurrent sockets on a project with the Lez imported, sockets dropped mid-call;
// the load table of the note comes from `npm run fuzz -- load N`.
import { expect, it } from 'vitest';
import { loadSoak } from '../../../../fuzz/load';

it('300 calls over 32 sockets: every reply ok or the typed error it was meant to provoke, nothing lost', async () => {
  const r = await loadSoak(300, 3);
  expect(r.crashes).toBe(0);
  expect(r.hangs).toBe(0);
  expect(r.untyped).toBe(0);
  expect(r.inputs).toBe(300);
  expect((r.ok as number) + (r.typedError as number) + (r.dropped as number)).toBe(300);
  // only the calls built to fail fail, each with its code
  const intended = new Set([
    'project.setView VALIDATION',
    'datasets.import VALIDATION',
    'nope.nothing UNKNOWN_METHOD',
    'jobs.get NOT_FOUND',
    'rasters.read VALIDATION',
  ]);
  expect(Object.keys(r.typedErrors as Record<string, number>).filter((k) => !intended.has(k))).toEqual([]);
  expect(r.ok).toBeGreaterThan(150);
  // a dropped reply is only ever one whose socket the soak itself closed
  expect(r.dropped).toBe(r.socketsDroppedMidCall);
  expect(r.normalCallAfter).toBe(true);
  expect(r.projectIntegrity).toBe('ok');
}, 300_000);
