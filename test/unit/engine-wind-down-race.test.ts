// The monitor exits between two of awaitWindDown's looks at it (src/engine/wind-down.ts): the
// record in hand is then stale and must be looked at again, never taken as current. Before the
// fix, the first look saw the monitor up, windingDown's own look saw it gone and answered "not
// winding down", and the pair read as "running": `rm` of a container that had just exited said
// "container is running" (the loaded loop test's flake). Deterministic: the monitor is looked at
// through a function that sees it up for the first N looks and gone after (a real monitor's exit
// cannot be timed between two reads from outside). The init is a reaped child; the pid file is
// written as the monitor writes it.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { awaitWindDown, windingDown } from '../../src/engine/wind-down.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A state directory whose `pid` file names an init that has exited (reaped) and this process as the monitor. */
function stateDirWithExitedInit(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-wind-down-race-'));
  dirs.push(d);
  const dead = spawnSync('/bin/true').pid;
  assert.ok(dead && dead > 0, 'a pid that has exited');
  writeFileSync(join(d, 'pid'), `${dead} 0 ${process.pid}\n`);
  return d;
}
const running = { state: 'running', monitorPid: process.pid, monitorStart: 'x', hostConfig: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } } } as Parameters<typeof windingDown>[1];
/** A look at the monitor that sees it up `n` times, then gone for good (as a real one: gone stays gone). */
const upFor = (n: number) => {
  let looks = 0;
  const up = () => looks++ < n;
  return Object.assign(up, { looks: () => looks });
};

test('the monitor exits right after the first look: the record is looked at again, not called running', async () => {
  for (let n = 1; n <= 3; n++) {
    const up = upFor(n);
    assert.equal(await awaitWindDown(stateDirWithExitedInit(), running, 2000, up), true, `up for ${n} look(s), then gone: stale, look again`);
    assert.ok(up.looks() > n, 'it looked again after the monitor went');
  }
});

test('the monitor up at every look: winding down until the bound, then looked at again', async () => {
  const t0 = Date.now();
  assert.equal(await awaitWindDown(stateDirWithExitedInit(), running, 50, () => true), true);
  assert.ok(Date.now() - t0 >= 50, 'it waited up to its bound');
});

test('the monitor gone at the first look: stale at once', async () => {
  const t0 = Date.now();
  assert.equal(await awaitWindDown(stateDirWithExitedInit(), running, 2000, () => false), true);
  assert.ok(Date.now() - t0 < 1000, 'no wait for a monitor already gone');
});

test('a running init with its monitor up is current (rm refuses it)', async () => {
  const d = stateDirWithExitedInit();
  writeFileSync(join(d, 'pid'), `${process.pid} 0 ${process.pid}\n`); // the init runs: this process
  assert.equal(await awaitWindDown(d, running, 2000, () => true), false);
});
