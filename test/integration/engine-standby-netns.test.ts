// A standby monitor makes the network namespace of its next container ahead of time
// (native/berth-monitor.c prepare_netns; the shim joins it instead of unsharing one:
// berth-shim.c run_child1). Isolation must be what an unshare gives: a netns of its own per
// container (not the host's, never another container's), only a loopback (which the shim then
// brings up, as docker does: src/engine/loopback.ts), and with a user namespace one that the
// container's root owns. `berth run` makes none ahead for a container that will not use it
// (`--standby ... -n`: src/engine/standby-netns.ts). Real containers, as root, through a warm
// library and through `berth run`.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { Berth } from '../../src/index.js';
import { MONITOR_PATH, readPidFile } from '../../src/engine/monitor.js';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { cmdline, ppid } from '../helpers/proc-info.js';
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
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out; // gone meanwhile (a standby that took a container and went on)
  }
  for (const f of fds) {
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
// a fresh netns: loopback only, which the engine's plan brought up (IFF_UP|IFF_LOOPBACK; the
// prepared netns itself is pristine, lo down, until the container's shim joins it)
const FRESH = 'lo unknown\n0x9\n';

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
  // set lo down there (it could not in one the host's root made ahead)
  await preparedNets();
  const u = await lib.run({ rootfs, cmd: ['sh', '-c', 'cat /sys/class/net/lo/operstate; ip link set lo down && cat /sys/class/net/lo/operstate'], autoRemove: true, network: 'none', userns: 'auto', capAdd: ['NET_ADMIN'] });
  assert.deepEqual([u.exitCode, u.stdout], [0, 'unknown\ndown\n'], u.stderr);
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

/** Blocked in its read of fd 3 (standby_job): past prepare_netns, waiting for a container. */
const waiting = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith('0 0x3 ');
  } catch {
    return false;
  }
};

test('a standby started with -n makes no netns; one without makes one', async () => {
  for (const [flags, want] of [[['-n'], 0], [[], 1]] as const) {
    const sb = spawn(MONITOR_PATH, ['monitor', '--standby', ' '.repeat(40), ...flags], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true });
    try {
      await until(() => sb.pid && waiting(sb.pid), `the standby (${flags.join(' ')}) waiting on fd 3`);
      assert.equal(netFds(sb.pid!).length, want, `monitor --standby ${flags.join(' ')}`);
    } finally {
      sb.kill('SIGKILL');
      (sb.stdio[3] as Socket).destroy();
      (sb.stdio[4] as Socket).destroy();
    }
  }
});

/** Standbys (still waiting) started by the CLI process that holds this berth's store open. */
function cliStandbys(): number[] {
  const db = join(t.root, 'berth.db');
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  const clis = new Set(pids.filter((p) => {
    if (p === process.pid) return false;
    try {
      return readdirSync(`/proc/${p}/fd`).some((f) => {
        try {
          return readlinkSync(`/proc/${p}/fd/${f}`) === db;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }));
  return pids.filter((p) => clis.has(ppid(p)) && cmdline(p).includes('\0monitor\0--standby\0'));
}

test('berth run: the standby it starts ahead makes a netns only for a container that joins it', async () => {
  ok(t.run(['ps']), 'the store exists');
  for (const network of ['host', 'none']) {
    // the store locked: the run waits on it after its standby started (prestartMonitor comes first)
    const db = new Database(join(t.root, 'berth.db'));
    db.exec('BEGIN EXCLUSIVE');
    let locked = true;
    const run = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'run', '--rm', '--network', network, '--rootfs', rootfs, 'readlink', '/proc/self/ns/net'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    run.stdout.on('data', (d) => (out += d));
    run.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => run.on('close', (c) => res(c)));
    try {
      const [sb] = await until(() => {
        const s = cliStandbys();
        return s.length === 1 && waiting(s[0]!) && s;
      }, `the standby of run --network ${network}, waiting`, 30000);
      const nets = netFds(sb!);
      db.exec('COMMIT');
      locked = false;
      assert.equal(await exited, 0, err);
      const own = Number(/^net:\[(\d+)\]\n$/.exec(out)?.[1]);
      if (network === 'host') {
        assert.deepEqual(nets, [], 'no netns made for --network host');
        assert.equal(own, HOST);
      } else {
        assert.equal(nets.length, 1, 'a netns made ahead for --network none');
        assert.equal(own, nets[0], 'the container joined the one its standby made');
      }
    } finally {
      if (locked) db.exec('ROLLBACK');
      db.close();
      run.kill();
      await exited;
    }
  }
});
