// The warm library's standby monitor (src/engine/monitor.ts, `berth-shim monitor --standby`):
// one is kept ready while a Berth is open, a start hands it the container (ps shows which), a
// dead one is replaced by a fresh spawn, and close() makes it exit. Real containers, as root.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { readPidFile } from '../../src/engine/monitor.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { cmdline, ppid } from '../helpers/proc-info.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-standby-'));
const rootfs = join(dir, 'rootfs');
const stateRoot = `/run/berth-sb${process.pid}`;
let lib: Berth;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** This process's standby monitors (children still waiting for a job). */
const standbys = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)
  .filter((p) => ppid(p) === process.pid && cmdline(p).includes('\0monitor\0--standby\0'));
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

test('a standby monitor takes the next container, shows it in its command line, and is replaced', async () => {
  // none until the first start (a Berth that only lists starts none)
  assert.deepEqual(standbys(), []);
  assert.equal((await lib.run({ rootfs, cmd: ['true'], autoRemove: true, network: 'none' })).exitCode, 0);
  const [first] = await until(() => { const s = standbys(); return s.length === 1 && s; }, 'one standby monitor');
  const { id } = await lib.run({ rootfs, cmd: ['sleep', '60'], detach: true, network: 'none' });
  const mon = readPidFile(join(stateRoot, 'containers', id))!.monitorPid;
  assert.ok(mon > 0);
  // the standby's own process forked the monitor (the double fork) and exited
  assert.equal(cmdline(first!), '');
  const cl = cmdline(mon);
  assert.ok(cl.includes(join(stateRoot, 'containers', id)), `the monitor's command line names its container: ${JSON.stringify(cl)}`);
  assert.ok(!cl.includes('--standby'), cl);
  const [next] = await until(() => { const s = standbys(); return s.length === 1 && s; }, 'the next standby');
  assert.notEqual(next, first);
  await lib.remove(id, { force: true });
});

test('attached and detached runs through a standby: output, exit status, stdin', async () => {
  await until(() => standbys().length === 1, 'a standby');
  const r = await lib.run({ rootfs, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], autoRemove: true, network: 'none' });
  assert.deepEqual([r.exitCode, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  await until(() => standbys().length === 1, 'a standby');
  const s = await lib.run({ rootfs, cmd: ['tr', 'a-z', 'A-Z'], stdin: 'hello\n', autoRemove: true, network: 'none' });
  assert.equal(s.stdout, 'HELLO\n');
  // detached without attach: the standby's attach socket is dropped, the container's fds are its own
  await until(() => standbys().length === 1, 'a standby');
  const { id } = await lib.run({ rootfs, cmd: ['sleep', '60'], detach: true, network: 'none' });
  const init = readPidFile(join(stateRoot, 'containers', id))!.pid;
  // READY comes just before the exec: look once the init runs the container's program
  await until(() => cmdline(init).startsWith('sleep\0'), 'the container program to run');
  assert.deepEqual(readdirSync(`/proc/${init}/fd`).sort(), ['0', '1', '2']);
  await lib.remove(id, { force: true });
});

test('a standby that died is not used: the start spawns a monitor as usual', async () => {
  const [sb] = await until(() => { const s = standbys(); return s.length === 1 && s; }, 'a standby');
  process.kill(sb!, 'SIGKILL');
  await until(() => standbys().length === 0 && cmdline(sb!) === '', 'the standby to be gone');
  const r = await lib.run({ rootfs, cmd: ['echo', 'fresh'], autoRemove: true, network: 'none' });
  assert.deepEqual([r.exitCode, r.stdout], [0, 'fresh\n']);
});

test('one standby serves every open Berth of a process; the last close() ends it', async () => {
  const other = new Berth({ root: join(dir, 'root2'), stateRoot: `${stateRoot}-2` });
  try {
    const r = await other.run({ rootfs, cmd: ['true'], autoRemove: true, network: 'none' });
    assert.equal(r.exitCode, 0);
  } finally {
    other.close();
    rmSync(`${stateRoot}-2`, { recursive: true, force: true });
  }
  // `lib` is still open: its standby stays
  await until(() => standbys().length === 1, 'the standby of the open Berth');
  lib.close();
  await until(() => standbys().length === 0, 'the standby to exit once no Berth is open');
  lib = new Berth({ root: join(dir, 'root'), stateRoot }); // for after()
});
