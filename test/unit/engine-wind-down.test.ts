// When `rm`, `start` and `attach` wait for a monitor (src/engine/wind-down.ts): its container's
// init gone while it lives and will not restart it. The monitor here is this test's own process
// (alive, with its start time), the init a process that has exited; the state directory's
// `pid` and `exit` files are written as the monitor writes them.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { processStartTime } from '../../src/runtime/state.js';
import type { ContainerState } from '../../src/engine/state.js';
import type { RestartPolicy } from '../../src/engine/types.js';
import { awaitWindDown, windingDown } from '../../src/engine/wind-down.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-wind-down-'));
  dirs.push(d);
  return d;
};
/** A pid that has exited (and was reaped): a finished child's. */
const deadPid = (spawnSync('/bin/true').pid ?? 0) || 999999;
const me = { monitorPid: process.pid, monitorStart: processStartTime(process.pid)! };
const rec = (state: ContainerState, Name: RestartPolicy['Name'] = 'no', monitor = me) => ({ state, ...monitor, hostConfig: { RestartPolicy: { Name, MaximumRetryCount: 0 } } }) as Parameters<typeof windingDown>[1];
const pidFile = (d: string, init: number, restarts = 0) => writeFileSync(join(d, 'pid'), `${init} ${restarts} ${process.pid}\n`);

test('init gone, monitor up, no restart: winding down', () => {
  const d = stateDir();
  pidFile(d, deadPid);
  assert.equal(windingDown(d, rec('running')), true);
  assert.equal(windingDown(d, rec('restarting')), true, 'whatever the row says: the files decide');
});

test('not winding down: init running, monitor gone, not live, still starting, a restart to come', () => {
  const d = stateDir();
  pidFile(d, process.pid);
  assert.equal(windingDown(d, rec('running')), false, 'its init runs');
  pidFile(d, deadPid);
  assert.equal(windingDown(d, rec('running', 'no', { monitorPid: deadPid, monitorStart: '1' })), false, 'the monitor is gone: reconcile records it');
  assert.equal(windingDown(d, rec('running', 'no', { monitorPid: process.pid, monitorStart: '1' })), false, 'the monitor pid is reused');
  assert.equal(windingDown(d, rec('exited')), false);
  assert.equal(windingDown(d, rec('created')), false);
  assert.equal(windingDown(stateDir(), rec('running')), false, 'no pid file: still starting');
  assert.equal(windingDown(d, rec('running', 'always')), false, 'always: restarting');
});

test('a stop marker ends a restart policy; on-failure waits for the status, then decides', () => {
  const d = stateDir();
  pidFile(d, deadPid);
  writeFileSync(join(d, 'stopped'), '');
  assert.equal(windingDown(d, rec('running', 'always')), true);
  const f = stateDir();
  pidFile(f, deadPid);
  assert.equal(windingDown(f, rec('running', 'on-failure')), true, 'status not written yet: look again');
  writeFileSync(join(f, 'exit'), 'status 1\nrestarts 0\n');
  assert.equal(windingDown(f, rec('running', 'on-failure')), false, 'failed: the monitor restarts it');
  writeFileSync(join(f, 'exit'), 'status 0\nrestarts 0\n');
  assert.equal(windingDown(f, rec('running', 'on-failure')), true, 'succeeded: going down');
});

test('awaitWindDown: no wait for a running container; bounded for one that stays winding down; a stale row is looked at again', async () => {
  const d = stateDir();
  pidFile(d, process.pid);
  assert.equal(await awaitWindDown(d, rec('running'), 50), false);
  assert.equal(await awaitWindDown(d, rec('exited'), 50), false);
  pidFile(d, deadPid);
  const t0 = Date.now();
  assert.equal(await awaitWindDown(d, rec('running'), 50), true);
  assert.ok(Date.now() - t0 >= 50, 'it waited up to its bound');
  assert.equal(await awaitWindDown(d, rec('running', 'no', { monitorPid: deadPid, monitorStart: '1' }), 50), true, 'monitor gone, row still live: look again');
});
