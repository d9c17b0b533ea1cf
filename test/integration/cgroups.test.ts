// Real cgroups on this machine (root; hybrid layout here, but written for any layout).
// Every test uses a unique cgroup path and removes its processes and cgroups even on failure.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HostFs } from '../../src/cgroups/hostfs.js';
import { hostFor } from '../../src/cgroups/host.js';
import { cgroupLayout, oomEvents, openCgroupManager, withDefaultDeviceRules, type BerthCgroupManager } from '../../src/cgroups/index.js';
import { parseCgroupsPath } from '../../src/cgroups/path.js';
import { V1Manager } from '../../src/cgroups/v1/manager.js';
import { until } from '../helpers/cli-procs.js';
import type { LinuxResources } from '../../src/spec/types.js';

const MiB = 1024 * 1024;
const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root';
const layout = root ? cgroupLayout() : 'v2';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const unique = (name: string): string => `/berth-it-${process.pid}-${Date.now().toString(36)}-${seq++}-${name}/ctr`;

interface Proc {
  child: ChildProcess;
  /** Let the child start its work (it waits for a line on stdin). */
  go(): void;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run `fn` with a fresh cgroup; kill its processes and destroy it afterwards, whatever happens. */
async function withCgroup(
  name: string, resources: LinuxResources | undefined,
  fn: (m: BerthCgroupManager, run: (cmd: string, args: string[]) => Proc) => Promise<void>,
  make: (path: string, warnings: string[]) => BerthCgroupManager = (path, warnings) => openCgroupManager(path, 'it', { onWarning: (w) => warnings.push(w) }),
): Promise<void> {
  const warnings: string[] = [];
  const m = make(unique(name), warnings);
  const procs: Proc[] = [];
  m.create(resources);
  const run = (cmd: string, args: string[]): Proc => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    const p: Proc = { child, go: () => child.stdin!.write('go\n'), out: () => out, exited };
    procs.push(p);
    for (const f of m.procsFiles()) writeFileSync(f, String(child.pid));
    return p;
  };
  try {
    await fn(m, run);
  } finally {
    try {
      if (m.isFrozen()) m.thaw();
    } catch {
      /* best effort */
    }
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    m.destroy();
    for (const d of Object.values(m.dirs())) assert.ok(!existsSync(d), `${d} removed`);
  }
}

// the system's python itself: a `python3` earlier in PATH may be a shim (pyenv's is a bash script
// that forks helpers, which then show up in the cgroup for a moment)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const py = (body: string): string[] => ['-c', `import sys\nsys.stdin.readline()\n${body}`];

describe('cgroups on this host (integration)', { skip }, () => {
  it('puts a sleep child in the cgroup and lists it', async () => {
    await withCgroup('sleep', { pids: { limit: 32 } }, async (m, run) => {
      const p = run('sleep', ['60']);
      assert.deepEqual(m.pids(), [p.child.pid]);
      assert.equal(m.stats().pids?.current, 1);
      const own = readFileSync(`/proc/${p.child.pid}/cgroup`, 'utf8');
      assert.ok(own.includes(m.path), own);
    });
  });

  it('memory limit 32 MiB OOM-kills a process allocating 200 MiB, and the counter reports it', async () => {
    // No swap limit: this host has no swap, and with memsw == limit kernel 6.18 counts no failcnt.
    await withCgroup('oom', { memory: { limit: 32 * MiB } }, async (m, run) => {
      const events: number[] = [];
      const watch = oomEvents(m, (e) => events.push(e.total), { intervalMs: 20 });
      try {
        const p = run(PYTHON, py("b = b'x' * (200 << 20)\nprint('survived', flush=True)"));
        p.go();
        const { signal } = await p.exited;
        assert.equal(signal, 'SIGKILL', `output: ${p.out()}`);
        const s = m.stats();
        assert.ok((s.memory?.oomKills ?? 0) >= 1, JSON.stringify(s.memory));
        assert.ok((s.memory?.failcnt ?? 0) > 0);
        assert.equal(s.memory?.limit, 32 * MiB);
        assert.ok(m.oomKillCount() >= 1);
        await sleep(100);
        assert.ok(events.length >= 1, 'oomEvents fired');
      } finally {
        watch.stop();
      }
    });
  });

  it('update() raises the memory limit of a live cgroup', async () => {
    await withCgroup('update', { memory: { limit: 32 * MiB, swap: 32 * MiB } }, async (m, run) => {
      const p = run(PYTHON, py("b = b'x' * (64 << 20)\nprint('ok', flush=True)"));
      m.update({ memory: { limit: 128 * MiB, swap: 128 * MiB } });
      assert.equal(m.stats().memory?.limit, 128 * MiB);
      p.go();
      const { code } = await p.exited;
      assert.equal(code, 0, p.out());
      assert.match(p.out(), /ok/);
      assert.equal(m.oomKillCount(), 0);
    });
  });

  it('cpu quota 50% gives 40-60% of a CPU over 3 s', async () => {
    await withCgroup('cpu', { cpu: { quota: 50000, period: 100000 } }, async (m, run) => {
      const p = run(PYTHON, py('while True: pass'));
      p.go();
      await sleep(300);
      const u0 = m.stats().cpu!.usageNs;
      const t0 = process.hrtime.bigint();
      await sleep(3000);
      const u1 = m.stats().cpu!.usageNs;
      const wall = Number(process.hrtime.bigint() - t0);
      const share = (u1 - u0) / wall;
      assert.ok(share > 0.4 && share < 0.6, `cpu share ${share.toFixed(3)}`);
      assert.ok((m.stats().cpu?.throttledPeriods ?? 0) > 0);
    });
  });

  it('cpuset pins the process to the given cpu', async () => {
    const cpus = hostFor(new HostFs()).cpus();
    const last = cpus.split(/[,-]/).pop()!;
    await withCgroup('cpuset', { cpu: { cpus: last } }, async (_m, run) => {
      const p = run('sleep', ['60']);
      const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`Cpus_allowed_list:\\s+${last}\\n`));
    });
  });

  it('pids limit 16 stops a fork loop', async () => {
    const body = `import os, time
n = 0
kids = []
err = None
for i in range(64):
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
    n += 1
for k in kids:
    os.kill(k, 9)
    os.waitpid(k, 0)
print('forked', n, 'errno', err, flush=True)`;
    await withCgroup('pids', { pids: { limit: 16 } }, async (_m, run) => {
      const p = run(PYTHON, py(body));
      p.go();
      const { code } = await p.exited;
      assert.equal(code, 0, p.out());
      const m = /forked (\d+) errno (\d+)/.exec(p.out());
      assert.ok(m, p.out());
      assert.equal(Number(m[1]), 15, 'python itself is the 16th');
      assert.equal(Number(m[2]), 11, 'EAGAIN');
    });
  });

  const counter = py("import time\ni = 0\nwhile True:\n    i += 1\n    print(i, flush=True)\n    time.sleep(0.01)");
  const lines = (p: Proc): number => p.out().split('\n').length;

  it('freeze stops a counter and thaw resumes it', async () => {
    await withCgroup('freeze', undefined, async (m, run) => {
      const p = run(PYTHON, counter);
      p.go();
      await sleep(300);
      m.freeze();
      assert.equal(m.isFrozen(), true);
      await sleep(50);
      const n = lines(p);
      await sleep(400);
      assert.equal(lines(p), n, 'no progress while frozen');
      m.thaw();
      assert.equal(m.isFrozen(), false);
      // a fixed sleep is too short for five 10 ms iterations on a loaded machine
      await until('progress after thaw', () => lines(p) > n + 5, 5000);
    });
  });

  it('the v1 freezer and signalling by pids work too (v1 view of this host)', { skip: layout === 'v2' }, async () => {
    const make = (path: string): BerthCgroupManager => {
      const fs = new HostFs();
      return new V1Manager({ fs, host: hostFor(fs) }, parseCgroupsPath(path, 'it'));
    };
    await withCgroup('v1freezer', undefined, async (m, run) => {
      const p = run(PYTHON, counter);
      p.go();
      await sleep(300);
      m.freeze();
      assert.equal(readFileSync(`${m.dirs().freezer}/freezer.state`, 'utf8').trim(), 'FROZEN');
      await sleep(50);
      const n = lines(p);
      await sleep(300);
      assert.equal(lines(p), n);
      m.thaw();
      await sleep(300);
      assert.ok(lines(p) > n);
      const q = run('sleep', ['60']);
      m.kill('SIGKILL'); // v1: freeze, signal every pid, thaw
      assert.equal((await p.exited).signal, 'SIGKILL');
      assert.equal((await q.exited).signal, 'SIGKILL');
    }, make);
  });

  it('a device deny rule blocks writing /dev/null (v1 devices controller)', { skip: layout === 'v2' }, async () => {
    const rules = withDefaultDeviceRules([{ allow: false, access: 'rwm' }]).filter((r) => !(r.major === 1 && r.minor === 3));
    await withCgroup('devices', { devices: rules }, async (m, run) => {
      const list = readFileSync(`${m.dirs().devices}/devices.list`, 'utf8');
      assert.ok(!list.includes('c 1:3'), list);
      const p = run(PYTHON, py(`
try:
    open('/dev/null', 'w').write('x')
    print('null writable')
except PermissionError:
    print('null denied')
open('/dev/zero', 'rb').read(1)
print('zero ok', flush=True)`));
      p.go();
      assert.equal((await p.exited).code, 0, p.out());
      assert.match(p.out(), /null denied/);
      assert.match(p.out(), /zero ok/);
    });
  });

  it('cgroup.kill and cgroup.freeze of the cgroup v2 hierarchy work', { skip: layout === 'v1' }, async () => {
    await withCgroup('unified', undefined, async (m, run) => {
      const u = m.dirs().unified!;
      assert.ok(existsSync(`${u}/cgroup.kill`));
      const kids = [run('sleep', ['60']), run('sleep', ['60']), run(PYTHON, counter)];
      kids[2]!.go();
      assert.deepEqual(readFileSync(`${u}/cgroup.procs`, 'utf8').trim().split('\n').map(Number).sort(), kids.map((k) => k.child.pid!).sort());
      m.freeze();
      assert.match(readFileSync(`${u}/cgroup.events`, 'utf8'), /frozen 1/);
      assert.equal(readFileSync(`${u}/cgroup.freeze`, 'utf8').trim(), '1');
      m.thaw();
      m.kill('SIGKILL');
      for (const k of kids) assert.equal((await k.exited).signal, 'SIGKILL');
      assert.deepEqual(m.pids(), []);
      assert.ok(m.stats().pressure?.cpu);
    });
  });

  it('fails cleanly and leaves nothing behind for a limit the host cannot enforce', async () => {
    const path = unique('fail');
    const m = openCgroupManager(path, 'it');
    const r: LinuxResources = layout === 'v2' ? { cpu: { realtimeRuntime: 1000 } } : { network: { classID: 0x100001 } };
    assert.throws(() => m.create(r), /linux\.resources\.(network\.classID|cpu\.realtimeRuntime)/);
    const top = path.split('/')[1]!;
    for (const d of Object.values(m.dirs())) assert.ok(!existsSync(d.slice(0, d.indexOf(top) + top.length)), d);
    // A failure while applying (swap below what the kernel accepts after a valid limit) rolls back too.
    const m2 = openCgroupManager(unique('fail2'), 'it');
    assert.throws(() => m2.create({ cpu: { cpus: '0', mems: '0', shares: 2 }, blockIO: { throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1 }] } }), /throttleReadBpsDevice\[0\]: block device 1:3 does not exist/);
  });
});
