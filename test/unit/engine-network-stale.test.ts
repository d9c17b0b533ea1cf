// The judgement that lets one berth release the network of a container another berth started
// (network-stale.ts), driven through every interleaving with a start that finishes meanwhile:
// issue 7's container that ran with no IPAddress was released by a reconcile that read the store
// ("not up") before the start recorded its monitor and the marker ("not starting") after the start
// removed it. Also: the marker is written whole, and an unreadable endpoint record is an error
// naming the file, not an empty list.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { networkStale, starterAlive, starterMark, type StaleProbes } from '../../src/engine/network-stale.js';
import { writeFileAtomic } from '../../src/network/fsutil.js';
import { NetworkManager } from '../../src/network/manager.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-net-stale-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A start in its protocol's steps: 0 marker written (store: created, no monitor), 1 monitor
 * recorded, 2 recorded running, 3 marker removed. `schedule[i]`: the steps it takes just before
 * the judge's i-th probe (any probe: ours, starting, active).
 */
function racingStart(schedule: number[]): StaleProbes {
  let step = 0;
  let probe = 0;
  const advance = () => {
    step = Math.min(3, step + (schedule[probe++] ?? 0));
  };
  return {
    ours: () => (advance(), true),
    starting: () => (advance(), step < 3),
    active: () => (advance(), step >= 1),
  };
}

/** Every way to spread the start's 3 steps over the judge's (at most 5) probes. */
function schedules(probes = 5, steps = 3): number[][] {
  if (probes === 0) return [[]];
  const out: number[][] = [];
  for (let k = 0; k <= steps; k++) for (const rest of schedules(probes - 1, steps - k)) out.push([k, ...rest]);
  return out;
}

test('a start finishing between the probes is never judged stale, whatever the interleaving', () => {
  for (const s of schedules()) assert.equal(networkStale('c', racingStart(s)), false, `schedule ${s.join(',')}`);
});

test('the harness catches the old order (store first, marker second)', () => {
  const storeFirst = (id: string, p: StaleProbes) => p.ours(id) && !p.active(id) && !p.starting(id);
  const caught = schedules().filter((s) => storeFirst('c', racingStart(s)));
  // the start recording itself and removing its marker between the two reads
  assert.ok(caught.some((s) => s.join(',') === '0,0,3,0,0'), `caught: ${JSON.stringify(caught)}`);
});

test('stale when down and nobody starts it; never another root\'s', () => {
  const probes = (o: Partial<Record<keyof StaleProbes, boolean>>): StaleProbes => ({
    ours: () => o.ours ?? true, starting: () => o.starting ?? false, active: () => o.active ?? false,
  });
  assert.equal(networkStale('c', probes({})), true, 'a stopped container that was not released');
  assert.equal(networkStale('c', probes({ starting: true })), false);
  assert.equal(networkStale('c', probes({ active: true })), false);
  assert.equal(networkStale('c', probes({ ours: false })), false);
});

test('the marker is written whole and names this process; a dead or empty marker is no starter', () => {
  const m = join(dir, `${'a'.repeat(64)}.starting`);
  writeFileAtomic(m, starterMark());
  assert.equal(starterAlive(m), true);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temp file left');
  writeFileAtomic(m, '999999999 1');
  assert.equal(starterAlive(m), false, 'a pid that cannot exist');
  writeFileSync(m, ''); // what a reader met while a plain write was half done
  assert.equal(starterAlive(m), false);
  assert.equal(starterAlive(join(dir, 'none')), false);
});

test('an endpoint record that cannot be parsed is an error naming the file; a missing one is no attachment', () => {
  const nm = new NetworkManager({ configDir: join(dir, 'cfg'), runDir: join(dir, 'run') });
  const id = 'b'.repeat(64);
  assert.deepEqual(nm.endpoints(id), []);
  writeFileSync(join(dir, 'run', 'endpoints', `${id}.json`), '{"container":');
  assert.throws(() => nm.endpoints(id), (e: Error) => e.message.includes(join(dir, 'run', 'endpoints', `${id}.json`)));
});
