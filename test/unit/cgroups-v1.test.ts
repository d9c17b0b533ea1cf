import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildFakeHost, type FakeCgroupFs, type FakeHostSpec } from '../../src/cgroups/fake.js';
import { compileDeviceRules, openCgroupManager, withDefaultDeviceRules, type BerthCgroupManager } from '../../src/cgroups/index.js';

const MiB = 1024 * 1024;
const CG = '/sys/fs/cgroup';
let root = '';
let fs: FakeCgroupFs;

function setup(spec: Partial<FakeHostSpec> = {}): void {
  fs = buildFakeHost(root, { layout: 'v1', cpus: '0-3', ...spec });
}
const read = (p: string): string => readFileSync(root + p, 'utf8').trim();
const open = (path: string, warnings?: string[]): BerthCgroupManager => openCgroupManager(path, 'c1', { fs, onWarning: (m) => warnings?.push(m) });
const writesTo = (file: string): string[] => fs.writes.filter((w) => w.path.endsWith('/' + file)).map((w) => w.data);

describe('cgroup v1 backend (fake cgroupfs)', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cg-v1-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates one directory per hierarchy, co-mounted cpu,cpuacct once', () => {
    setup();
    const m = open('/berth/c1');
    m.create({});
    assert.equal(m.layout, 'v1');
    const files = m.procsFiles().map((f) => f.slice(root.length));
    assert.deepEqual(files, ['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'].map((h) => `${CG}/${h}/berth/c1/cgroup.procs`));
    assert.equal(m.dirs().cpuacct, m.dirs().cpu);
    // cpuset: each new level gets its parent's cpus and mems, or no task could join.
    assert.equal(read(`${CG}/cpuset/berth/cpuset.cpus`), '0-3');
    assert.equal(read(`${CG}/cpuset/berth/c1/cpuset.mems`), '0');
  });

  it('writes every controller file', () => {
    setup();
    const warnings: string[] = [];
    const m = open('/c', warnings);
    m.create({
      memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 32 * MiB, kernelTCP: 16 * MiB, swappiness: 0, disableOOMKiller: true },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 5000, realtimeRuntime: 1000, realtimePeriod: 1000000, cpus: '2', mems: '0', idle: 1 },
      pids: { limit: 16 },
      blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 200 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 10 }] },
    });
    const d = (h: string, f: string): string => read(`${CG}/${h}/c/${f}`);
    assert.equal(d('memory', 'memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(d('memory', 'memory.memsw.limit_in_bytes'), String(96 * MiB));
    assert.equal(d('memory', 'memory.soft_limit_in_bytes'), String(32 * MiB));
    assert.equal(d('memory', 'memory.kmem.tcp.limit_in_bytes'), String(16 * MiB));
    assert.equal(d('memory', 'memory.swappiness'), '0');
    assert.equal(d('memory', 'memory.oom_control'), '1');
    assert.equal(d('cpu,cpuacct', 'cpu.shares'), '512');
    assert.equal(d('cpu,cpuacct', 'cpu.cfs_quota_us'), '50000');
    assert.equal(d('cpu,cpuacct', 'cpu.cfs_period_us'), '100000');
    assert.equal(d('cpu,cpuacct', 'cpu.cfs_burst_us'), '5000');
    assert.equal(d('cpu,cpuacct', 'cpu.rt_runtime_us'), '1000');
    assert.equal(d('cpu,cpuacct', 'cpu.idle'), '1');
    assert.equal(d('cpuset', 'cpuset.cpus'), '2');
    assert.equal(d('pids', 'pids.max'), '16');
    assert.equal(d('blkio', 'blkio.bfq.weight'), '300');
    assert.equal(d('blkio', 'blkio.bfq.weight_device'), '8:0 200');
    assert.equal(d('blkio', 'blkio.throttle.read_bps_device'), '8:0 1000');
    assert.equal(d('blkio', 'blkio.throttle.write_iops_device'), '8:0 10');
    // bfq weight written, but no device uses bfq: warned, not silently dropped.
    assert.ok(warnings.some((w) => /blockIO\.weight: .*no block device uses the bfq/.test(w)));
    assert.ok(warnings.some((w) => /weightDevice\[0\]\.weight: device 8:0 does not use the bfq/.test(w)));
  });

  it('orders memory and memsw writes so the kernel never sees limit > memsw', () => {
    setup();
    const m = open('/c');
    m.create({ memory: { limit: 64 * MiB, swap: 64 * MiB } });
    assert.deepEqual(writesTo('memory.limit_in_bytes').concat(writesTo('memory.memsw.limit_in_bytes')), [String(64 * MiB), String(64 * MiB)]);
    fs.writes.length = 0;
    m.update({ memory: { limit: 256 * MiB, swap: 256 * MiB } }); // raising: memsw first
    assert.deepEqual(fs.writes.map((w) => w.path.split('/').pop()), ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
    fs.writes.length = 0;
    m.update({ memory: { limit: 32 * MiB, swap: 32 * MiB } }); // lowering: limit first
    assert.deepEqual(fs.writes.map((w) => w.path.split('/').pop()), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
  });

  it('errors on swap without swap accounting, warns on kernel memory that does not stick', () => {
    setup({ missing: ['memory.memsw.limit_in_bytes'] });
    assert.throws(() => open('/c').create({ memory: { limit: 64 * MiB, swap: 128 * MiB } }), /memory\.swap: swap accounting is off/);
    assert.ok(!existsSync(`${root}${CG}/memory/c`), 'rolled back');
    const warnings: string[] = [];
    const m = open('/k', warnings);
    m.create({ memory: { kernel: 64 * MiB } });
    assert.equal(warnings.length, 0, 'the fake keeps the value, so it is enforced');
  });

  it('applies device rules: deny all, then the allow rules in order', () => {
    setup();
    const m = open('/dev');
    m.create({ devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }]) });
    const w = fs.writes.filter((x) => /devices\.(allow|deny)$/.test(x.path)).map((x) => `${x.path.split('/').pop()} ${x.data}`);
    assert.equal(w[0], 'devices.deny a');
    assert.equal(w[1], 'devices.allow b 8:0 r', 'then the allow rules in rule order');
    assert.equal(w[2], 'devices.allow c *:* m');
    assert.match(read(`${CG}/devices/dev/devices.list`), /^b 8:0 r\nc \*:\* m\n/);
    fs.writes.length = 0;
    m.update({ devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }]) });
    assert.deepEqual(fs.writes.map((x) => `${x.path.split('/').pop()} ${x.data}`), ['devices.deny b 8:0 r'], 'update writes only the difference');
  });

  it('errors for controllers that are not mounted, before creating anything', () => {
    setup();
    assert.throws(() => open('/n').create({ network: { classID: 1 } }), /network\.classID: the net_cls controller is not mounted/);
    assert.throws(() => open('/n').create({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }), /hugepageLimits: the hugetlb controller is not mounted/);
    assert.throws(() => open('/n').create({ unified: { 'memory.high': '1' } }), /unified: this host has no cgroup v2/);
    assert.ok(!existsSync(`${root}${CG}/memory/n`));
  });

  it('rolls back every hierarchy when a controller file is missing (cpu.cfs_burst_us)', () => {
    setup({ missing: ['cpu.cfs_burst_us'] });
    assert.throws(() => open('/deep/er/c').create({ cpu: { quota: 10000, burst: 1000 } }), /cpu\.burst: this kernel has no cpu\.cfs_burst_us/);
    for (const h of ['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd']) assert.ok(!existsSync(`${root}${CG}/${h}/deep`), h);
  });

  it('supports net_cls and net_prio where mounted', () => {
    setup({ v1: [['memory'], ['net_cls', 'net_prio'], ['hugetlb']] });
    const m = open('/n');
    m.create({ network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 1 }] }, hugepageLimits: [{ pageSize: '2MB', limit: 2 * MiB }] });
    assert.equal(read(`${CG}/net_cls,net_prio/n/net_cls.classid`), String(0x100001));
    assert.equal(read(`${CG}/net_cls,net_prio/n/net_prio.ifpriomap`), 'eth0 5\nlo 1');
    assert.equal(read(`${CG}/hugetlb/n/hugetlb.2MB.limit_in_bytes`), String(2 * MiB));
  });

  it('freezes through freezer.state', () => {
    setup();
    const m = open('/f');
    m.create({});
    m.freeze();
    assert.equal(read(`${CG}/freezer/f/freezer.state`), 'FROZEN');
    assert.equal(m.isFrozen(), true);
    m.thaw();
    assert.equal(m.isFrozen(), false);
  });

  it('plans binds per hierarchy with symlinks for co-mounts, or fresh mounts with cgroupns', () => {
    setup({ v1: [['cpu', 'cpuacct'], ['memory'], ['name=systemd']] });
    const m = open('/p');
    const plan = m.mountPlan('/sys/fs/cgroup', false);
    assert.equal(plan.tmpfs, '/sys/fs/cgroup');
    assert.deepEqual(plan.binds.map((b) => [b.source.slice(root.length), b.destination]), [
      [`${CG}/cpu,cpuacct/p`, '/sys/fs/cgroup/cpu,cpuacct'],
      [`${CG}/memory/p`, '/sys/fs/cgroup/memory'],
      [`${CG}/systemd/p`, '/sys/fs/cgroup/systemd'],
    ]);
    assert.deepEqual(plan.symlinks, [{ path: '/sys/fs/cgroup/cpu', target: 'cpu,cpuacct' }, { path: '/sys/fs/cgroup/cpuacct', target: 'cpu,cpuacct' }]);
    const ns = m.mountPlan('/sys/fs/cgroup', true);
    assert.deepEqual(ns.mounts.map((x) => x.data), ['cpu,cpuacct', 'memory', 'none,name=systemd']);
    assert.deepEqual(ns.binds, []);
  });

  it('stats from memory.oom_control, cpuacct, pids and blkio', () => {
    setup();
    const m = open('/s');
    m.create({ memory: { limit: 32 * MiB } });
    fs.write(`${CG}/memory/s/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    fs.write(`${CG}/memory/s/memory.failcnt`, '12');
    fs.write(`${CG}/cpu,cpuacct/s/cpuacct.usage`, '5000');
    fs.write(`${CG}/blkio/s/blkio.throttle.io_service_bytes_recursive`, '8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n');
    const s = m.stats();
    assert.equal(s.memory?.limit, 32 * MiB);
    assert.equal(s.memory?.failcnt, 12);
    assert.equal(s.memory?.oomKills, 1);
    assert.equal(s.cpu?.usageNs, 5000);
    assert.deepEqual(s.pids, { current: 0 });
    assert.deepEqual(s.blkio, { readBytes: 10, writeBytes: 20 });
    assert.equal(m.oomKillCount(), 1);
  });
});

describe('hybrid backend (fake cgroupfs)', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cg-hy-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('adds the unified directory: procs, kill, freeze, pressure, and hugetlb through v2', () => {
    fs = buildFakeHost(root, { layout: 'hybrid', v2Controllers: ['hugetlb'], cpus: '0-1' });
    const m = openCgroupManager('/berth/h', 'h', { fs });
    assert.equal(m.layout, 'hybrid');
    m.create({ memory: { limit: 64 * MiB }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }], unified: { 'hugetlb.2MB.max': '2097152' } });
    const U = `${CG}/unified`;
    assert.equal(read(`${U}/cgroup.subtree_control`), 'hugetlb');
    assert.equal(read(`${U}/berth/cgroup.subtree_control`), 'hugetlb');
    assert.equal(read(`${U}/berth/h/hugetlb.2MB.max`), '2097152', 'unified keys are written after hugepageLimits');
    assert.equal(m.procsFiles().at(-1), `${root}${U}/berth/h/cgroup.procs`);
    assert.equal(m.dirs().unified, `${root}${U}/berth/h`);
    m.freeze();
    assert.equal(read(`${U}/berth/h/cgroup.freeze`), '1');
    assert.equal(read(`${CG}/freezer/berth/h/freezer.state`), 'THAWED', 'the v2 freezer is used');
    assert.equal(m.isFrozen(), true);
    m.thaw();
    assert.equal(m.isFrozen(), false);
    m.kill('SIGKILL');
    assert.ok(fs.writes.some((w) => w.path === `${U}/berth/h/cgroup.kill`));
    assert.ok(m.stats().pressure?.memory);
    const plan = m.mountPlan('/sys/fs/cgroup', true);
    assert.deepEqual(plan.mounts.at(-1), { destination: '/sys/fs/cgroup/unified', fstype: 'cgroup2', data: '' });
    m.destroy();
    assert.ok(!existsSync(`${root}${U}/berth`));
    assert.ok(!existsSync(`${root}${CG}/memory/berth`));
  });

  it('also attaches the eBPF device program to the unified directory on request (hybridDeviceBpf)', () => {
    fs = buildFakeHost(root, { layout: 'hybrid', v2Controllers: ['hugetlb'] });
    const calls: [string, Buffer | null][] = [];
    const devicePrograms = (dir: string, code: Buffer | null): void => void calls.push([dir, code]);
    const rules = withDefaultDeviceRules([{ allow: false, access: 'rwm' }]);
    openCgroupManager('/berth/a', 'a', { fs, devicePrograms }).create({ devices: rules });
    assert.equal(calls.length, 0, 'not by default: v1 enforces the rules');
    const m = openCgroupManager('/berth/b', 'b', { fs, devicePrograms, hybridDeviceBpf: true });
    m.create({ devices: rules });
    assert.deepEqual(calls.map(([d, c]) => [d, c?.length]), [[`${root}${CG}/unified/berth/b`, compileDeviceRules(rules).code.length]]);
    assert.ok(read(`${CG}/devices/berth/b/devices.list`).includes('c 1:3 rwm'), 'and v1 as before');
    m.update({ devices: [{ allow: true, access: 'rwm' }] });
    assert.deepEqual(calls[1], [`${root}${CG}/unified/berth/b`, null]);
  });

  it('only allows unified keys of the unified hierarchy', () => {
    fs = buildFakeHost(root, { layout: 'hybrid', v2Controllers: ['hugetlb'] });
    assert.throws(() => openCgroupManager('/x', 'x', { fs }).create({ unified: { 'memory.high': '1' } }), /it has: hugetlb/);
  });
});
