// The warm library's standby monitors (src/engine/monitor.ts, `berth-shim monitor --standby`):
// a pool of STANDBY_POOL from one spawn is kept ready while a Berth is open, a start hands one
// the container (ps shows which), the next pool is spawned when the last is taken, dead ones
// are skipped for a fresh spawn, and close() makes them exit. Real containers, as root.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { STANDBY_POOL, readPidFile } from '../../src/engine/monitor.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { cmdline } from '../helpers/proc-info.js';
import { standbyPids as standbys } from '../helpers/standbys.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-standby-'));
const rootfs = join(dir, 'rootfs');
const stateRoot = `/run/berth-sb${process.pid}`;
let lib: Berth;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function until<T>(f: () => T | undefined | false, what: string, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  lib = new Berth({ root: join(dir, 'root'), stateRoot });
});

after(async () => {
  for (const c of lib.list({ all: true })) await lib.remove(String(c.ID), { force: true, volumes: true });
  lib.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

test('standby monitors take the next containers, show them in their command lines, and are replaced', async () => {
  // none until the first start (a Berth that only lists starts none)
  assert.deepEqual(standbys(), []);
  assert.equal((await lib.run({ rootfs, cmd: ['true'], autoRemove: true, network: 'none' })).exitCode, 0);
  const pool = await until(() => { const s = standbys(); return s.length === STANDBY_POOL && s; }, `a pool of ${STANDBY_POOL} standby monitors`);
  const ids: string[] = [];
  for (let i = 0; i < STANDBY_POOL; i++) {
    const { id } = await lib.run({ rootfs, cmd: ['sleep', '60'], detach: true, network: 'none' });
    ids.push(id);
    const mon = readPidFile(join(stateRoot, 'containers', id))!.monitorPid;
    assert.ok(mon > 0);
    // one standby of the pool forked the monitor (the double fork) and exited; the rest wait
    const left = pool.filter((p) => cmdline(p) !== '');
    assert.equal(left.length, STANDBY_POOL - 1 - i, `start ${i}: standbys left of the pool ${JSON.stringify(pool)}`);
    const cl = cmdline(mon);
    assert.ok(cl.includes(join(stateRoot, 'containers', id)), `the monitor's command line names its container: ${JSON.stringify(cl)}`);
    assert.ok(!cl.includes('--standby'), cl);
  }
  // the last one taken spawned the next pool meanwhile
  const next = await until(() => { const s = standbys(); return s.length === STANDBY_POOL && s; }, 'the next pool');
  assert.ok(!next.some((p) => pool.includes(p)), 'a new pool, not the old standbys');
  for (const id of ids) await lib.remove(id, { force: true });
});

test('attached and detached runs through a standby: output, exit status, stdin', async () => {
  await until(() => standbys().length > 0, 'a standby');
  const r = await lib.run({ rootfs, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], autoRemove: true, network: 'none' });
  assert.deepEqual([r.exitCode, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  await until(() => standbys().length > 0, 'a standby');
  const s = await lib.run({ rootfs, cmd: ['tr', 'a-z', 'A-Z'], stdin: 'hello\n', autoRemove: true, network: 'none' });
  assert.equal(s.stdout, 'HELLO\n');
  // detached without attach: the standby's attach socket is dropped, the container's fds are its own
  await until(() => standbys().length > 0, 'a standby');
  const { id } = await lib.run({ rootfs, cmd: ['sleep', '60'], detach: true, network: 'none' });
  const init = readPidFile(join(stateRoot, 'containers', id))!.pid;
  // READY comes just before the exec: look once the init runs the container's program
  await until(() => cmdline(init).startsWith('sleep\0'), 'the container program to run');
  assert.deepEqual(readdirSync(`/proc/${init}/fd`).sort(), ['0', '1', '2']);
  await lib.remove(id, { force: true });
});

test('standbys that died are not used: the start spawns a monitor as usual', async () => {
  const sbs = await until(() => { const s = standbys(); return s.length > 0 && s; }, 'a standby');
  for (const p of sbs) process.kill(p, 'SIGKILL');
  await until(() => standbys().length === 0 && sbs.every((p) => cmdline(p) === ''), 'the standbys to be gone');
  const r = await lib.run({ rootfs, cmd: ['echo', 'fresh'], autoRemove: true, network: 'none' });
  assert.deepEqual([r.exitCode, r.stdout], [0, 'fresh\n']);
  // and a new pool replaces them
  await until(() => standbys().length === STANDBY_POOL, 'a fresh pool');
  const s = await lib.run({ rootfs, cmd: ['echo', 'again'], autoRemove: true, network: 'none' });
  assert.deepEqual([s.exitCode, s.stdout], [0, 'again\n']);
});

test('one pool serves every open Berth of a process; the last close() ends it', async () => {
  const other = new Berth({ root: join(dir, 'root2'), stateRoot: `${stateRoot}-2` });
  try {
    const r = await other.run({ rootfs, cmd: ['true'], autoRemove: true, network: 'none' });
    assert.equal(r.exitCode, 0);
  } finally {
    other.close();
    rmSync(`${stateRoot}-2`, { recursive: true, force: true });
  }
  // `lib` is still open: its standbys stay
  await until(() => standbys().length > 0, 'the standbys of the open Berth');
  lib.close();
  await until(() => standbys().length === 0, 'the standby to exit once no Berth is open');
  lib = new Berth({ root: join(dir, 'root'), stateRoot }); // for after()
});
