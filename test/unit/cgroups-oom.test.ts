import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CgroupManager } from '../../src/cgroups/manager.js';
import { oomEvents, type OomEvent } from '../../src/cgroups/oom.js';

describe('oomEvents', () => {
  it('reports increases of the OOM kill counter and stops', async () => {
    let count = 0;
    const fake = { oomKillCount: () => count } as unknown as CgroupManager;
    const seen: OomEvent[] = [];
    const w = oomEvents(fake, (e) => seen.push(e), { intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 20));
    count = 2;
    await new Promise((r) => setTimeout(r, 30));
    count = 3;
    await new Promise((r) => setTimeout(r, 30));
    w.stop();
    count = 9;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [{ count: 2, total: 2 }, { count: 1, total: 3 }]);
  });

  it('falls back to stats() and stops when the cgroup is gone', async () => {
    let calls = 0;
    const fake = { stats: () => { calls++; if (calls > 2) throw new Error('ENOENT'); return { memory: { usage: 0, limit: -1, oomKills: 0 } }; } } as unknown as CgroupManager;
    oomEvents(fake, () => assert.fail('no OOM'), { intervalMs: 2 });
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(calls, 3);
  });
});
