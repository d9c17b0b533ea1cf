// A standby monitor makes the network namespace of its next container ahead of time
// (native/berth-monitor.c prepare_netns; the shim joins it instead of unsharing one:
// berth-shim.c run_child1). Isolation must be what an unshare gives: a netns of its own per
// container (not the host's, never another container's), only a loopback that is down, and with
// a user namespace one that the container's root owns. Real containers, as root, through a warm
// library and through `berth run`.
import { strict as assert } from 'node:assert';
import { chmodSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { readPidFile } from '../../src/engine/monitor.js';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { standbyPids } from '../helpers/standbys.js';

const { t, rootfs } = testBerthWithRootfs('sbnetns');
const stateRoot = `/run/berth-sbn${process.pid}`;
let lib: Berth;

before(() => {
  chmodSync(t.dir, 0o711); // --userns auto: the container's root must reach its rootfs
  lib = new Berth({ root: join(t.dir, 'lib'), stateRoot, exitCommand: null });
});
after(async () => {
  for (const c of lib.list({ all: true })) await lib.remove(String(c.ID), { force: true, volumes: true });
  lib.close();
  rmSync(stateRoot, { recursive: true, force: true }); // its root is under t.dir, which t.cleanup removes
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function until<T>(f: () => T | undefined | false, what: string, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const netIno = (pid: number | 'self') => statSync(`/proc/${pid}/ns/net`).ino;
const HOST = netIno('self');
/** Inodes of the network namespaces a process holds open (the standby's prepared one). */
function netFds(pid: number): number[] {
  const out: number[] = [];
  for (const f of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${f}`));
      if (m) out.push(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}
/** The netns inodes this process's standby monitors made, once each has made its one (before it waits). */
const preparedNets = () => until(() => {
  const pids = standbyPids();
  const nets: number[] = [];
  for (const p of pids) {
    const fds = netFds(p);
    if (fds.length !== 1) return undefined;
    nets.push(fds[0]!);
  }
  return nets.length > 0 && nets;
}, 'standby monitors holding a prepared network namespace each');
/** What a --network none container sees of its network: interfaces, lo's state and flags. */
const PROBE = 'ls /sys/class/net | tr "\\n" " "; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags';
const FRESH = 'lo down\n0x8\n'; // an unshared netns: loopback only, not up (IFF_LOOPBACK alone)

test('warm library: each --network none container gets the standby\'s pristine netns, once', async () => {
  await lib.run({ rootfs, cmd: ['true'], autoRemove: true, network: 'none' }); // starts the standbys
  const nets1 = await preparedNets();
  assert.ok(!nets1.includes(HOST), 'never the host netns');
  assert.equal(new Set(nets1).size, nets1.length, 'each standby made its own');
  const a = await lib.run({ rootfs, cmd: ['sleep', '120'], detach: true, network: 'none' });
  const pa = readPidFile(join(stateRoot, 'containers', a.id))!;
  assert.ok(nets1.includes(netIno(pa.pid)), 'the container joined a namespace its standby made');
  assert.deepEqual(netFds(pa.monitorPid), [], 'the monitor keeps no netns for a later start');
  const nets2 = await preparedNets();
  assert.ok(!nets2.includes(netIno(pa.pid)), 'no standby keeps the one a took (a is still alive, no inode reuse)');
  const b = await lib.run({ rootfs, cmd: ['sleep', '120'], detach: true, network: 'none' });
  const pb = readPidFile(join(stateRoot, 'containers', b.id))!;
  assert.ok(nets2.includes(netIno(pb.pid)), 'b joined a namespace a standby made');
  assert.notEqual(netIno(pb.pid), netIno(pa.pid));
  for (const id of [a.id, b.id]) {
    const r = await lib.exec(id, { cmd: ['sh', '-c', PROBE] });
    assert.deepEqual([r.exitCode, r.stdout], [0, FRESH], `${id}: ${r.stderr}`);
  }
  // attached runs too (and the namespace of a run is not the live containers')
  await preparedNets();
  const r = await lib.run({ rootfs, cmd: ['sh', '-c', `${PROBE}; readlink /proc/self/ns/net`], autoRemove: true, network: 'none' });
  const out = r.stdout ?? '';
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(out.startsWith(FRESH), out);
  const own = Number(/net:\[(\d+)\]/.exec(out)?.[1]);
  assert.ok(own > 0 && ![HOST, netIno(pa.pid), netIno(pb.pid)].includes(own), out);
  await lib.remove(a.id, { force: true });
  await lib.remove(b.id, { force: true });
});

test('warm library: host network and a user namespace do not use the prepared netns', async () => {
  await preparedNets();
  const h = await lib.run({ rootfs, cmd: ['readlink', '/proc/self/ns/net'], autoRemove: true, network: 'host' });
  assert.deepEqual([h.exitCode, h.stdout], [0, `net:[${HOST}]\n`], h.stderr);
  // with --userns auto the netns must be owned by the container's user namespace: its root can
  // bring lo up there (it could not in one the host's root made ahead)
  await preparedNets();
  const u = await lib.run({ rootfs, cmd: ['sh', '-c', 'ip link set lo up && cat /sys/class/net/lo/operstate'], autoRemove: true, network: 'none', userns: 'auto', capAdd: ['NET_ADMIN'] });
  assert.deepEqual([u.exitCode, u.stdout], [0, 'unknown\n'], u.stderr);
});

test('berth run: detached and --rm containers each have their own fresh netns', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = t.run(['run', '-d', '--name', t.uniq('nn'), '--network', 'none', '--rootfs', rootfs, 'sleep', '120']);
    ok(r, 'run -d');
    ids.push(r.stdout.trim());
  }
  const inos = ids.map((id) => netIno(readPidFile(join(t.stateRoot, 'containers', id))!.pid));
  assert.ok(!inos.includes(HOST), 'not the host netns');
  assert.notEqual(inos[0], inos[1], 'two containers never share one');
  for (const id of ids) {
    const r = t.run(['exec', id, 'sh', '-c', PROBE]);
    assert.deepEqual([r.status, r.stdout], [0, FRESH], r.stderr);
  }
  const rm = t.run(['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', `${PROBE}; readlink /proc/self/ns/net`]);
  ok(rm, 'run --rm');
  assert.ok(rm.stdout.startsWith(FRESH), rm.stdout);
  const own = Number(/net:\[(\d+)\]/.exec(rm.stdout)?.[1]);
  assert.ok(own > 0 && ![HOST, ...inos].includes(own), rm.stdout);
  ok(t.run(['rm', '-f', ...ids]), 'rm -f');
});
