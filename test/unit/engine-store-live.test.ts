// Store.liveStates: the narrow pass reconcile makes over every container (engine.ts reconcile)
// must select exactly the rows live() selects, with the columns refresh's first check reads.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../src/engine/store/db.js';
import { ZERO_TIME, type ContainerRecord } from '../../src/engine/types.js';
import { rfc3339Nano } from '../../src/engine/time.js';

function rec(n: number, o: Partial<ContainerRecord>): ContainerRecord {
  return {
    id: n.toString(16).padStart(64, '0'), name: `c${n}`, image: '/rootfs', rootfs: '/rootfs', created: rfc3339Nano(), state: 'created', pid: 0,
    monitorPid: 0, monitorStart: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, exitCode: 0, oomKilled: false, error: '', restartCount: 0,
    cleaned: true, config: { Cmd: ['true'] } as never, hostConfig: {} as never, spec: { ociVersion: '1.2.0' }, seccompFile: '', ...o,
  };
}

test('store: liveStates selects the rows of live() with their state, pids and monitor start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-live-'));
  const s = Store.open(dir);
  try {
    const rows = [
      rec(1, { state: 'running', pid: 101, monitorPid: 201, monitorStart: '5555', cleaned: false }),
      rec(2, { state: 'paused', pid: 102, monitorPid: 202, monitorStart: '6', cleaned: false }),
      rec(3, { state: 'restarting', pid: 0, monitorPid: 203, monitorStart: '7', cleaned: false }),
      rec(4, { state: 'exited', cleaned: false }), // its cleanup is pending
      rec(5, { state: 'created', monitorPid: 205, monitorStart: '9' }), // a start whose CLI died
      rec(6, { state: 'exited' }), // done: not live
      rec(7, { state: 'created' }), // never started: not live
    ];
    for (const r of rows) s.insertContainer(r);
    const live = s.live().map((r) => r.id).sort();
    const states = s.liveStates().sort((a, b) => (a.id < b.id ? -1 : 1));
    assert.deepEqual(states.map((x) => x.id), live);
    assert.deepEqual(live, rows.slice(0, 5).map((r) => r.id));
    assert.deepEqual(states[0], { id: rows[0]!.id, state: 'running', pid: 101, monitorPid: 201, monitorStart: '5555' });
    assert.deepEqual(states[4], { id: rows[4]!.id, state: 'created', pid: 0, monitorPid: 205, monitorStart: '9' });
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
