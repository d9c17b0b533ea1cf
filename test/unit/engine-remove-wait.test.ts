// remove-wait.ts against real processes (no root): the record the monitor leaves
// (<state dir>.procs, "pid starttime" lines) is waited on while a process it names runs, pids
// reused since (another start time) and zombies count as gone, the wait is bounded with a warning
// naming what still runs, and the record is forgotten afterwards.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { awaitLeftovers, forgetLeftoversIfDone, leftoversFile, readLeftovers } from '../../src/engine/remove-wait.js';
import { processStartTime } from '../../src/runtime/state.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-remove-wait-'));
const kids: ChildProcess[] = [];
after(() => {
  for (const k of kids) k.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function child(seconds: number): { pid: number; line: string } {
  const c = spawn('sleep', [String(seconds)], { stdio: 'ignore' });
  kids.push(c);
  return { pid: c.pid!, line: `${c.pid} ${processStartTime(c.pid!)}` };
}

let n = 0;
const stateDir = () => join(dir, `c${n++}`);

test('no record: nothing to wait for', async () => {
  const sd = stateDir();
  const t0 = Date.now();
  await awaitLeftovers(sd, () => assert.fail('no warning'), 'removing x');
  assert.ok(Date.now() - t0 < 100);
});

test('waits while a recorded process runs; a reused pid or this process is not waited on', async () => {
  const sd = stateDir();
  const short = child(0.4);
  // a pid with another start time: what a pid reused since the record looks like
  writeFileSync(leftoversFile(sd), `${short.line}\n${process.ppid} 1\n${process.pid} ${processStartTime(process.pid)}\n`);
  assert.deepEqual(readLeftovers(sd).map((x) => x.pid), [short.pid, process.ppid], 'itself left out');
  const t0 = Date.now();
  await awaitLeftovers(sd, (m) => assert.fail(m), 'removing x');
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 4000, `waited ${took} ms`);
  assert.equal(existsSync(leftoversFile(sd)), false, 'the record is forgotten');
});

test('bounded: a process that outlives the wait is named in the warning, and the record goes anyway', async () => {
  const sd = stateDir();
  const long = child(30);
  writeFileSync(leftoversFile(sd), `${long.line}\n`);
  const warnings: string[] = [];
  const t0 = Date.now();
  await awaitLeftovers(sd, (m) => warnings.push(m), 'removing 0123456789ab', 300);
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`^removing 0123456789ab: pid ${long.pid} \\(sleep 30\\) of the container still running`));
  assert.equal(existsSync(leftoversFile(sd)), false);
});

test('a removal nobody waits on forgets the record only once nothing it names runs', () => {
  const sd = stateDir();
  const long = child(30);
  writeFileSync(leftoversFile(sd), `${long.line}\n`);
  forgetLeftoversIfDone(sd);
  assert.equal(existsSync(leftoversFile(sd)), true, 'kept while its process runs');
  writeFileSync(leftoversFile(sd), `${long.pid} 1\n`);
  forgetLeftoversIfDone(sd);
  assert.equal(existsSync(leftoversFile(sd)), false);
});
