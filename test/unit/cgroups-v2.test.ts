import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildFakeHost, type FakeCgroupFs, type FakeHostSpec } from '../../src/cgroups/fake.js';
import { compileDeviceRules, openCgroupManager, type BerthCgroupManager, type DeviceProgramLoader } from '../../src/cgroups/index.js';
import { CgroupError } from '../../src/cgroups/errors.js';

const MiB = 1024 * 1024;
let root = '';
let fs: FakeCgroupFs;
const CG = '/sys/fs/cgroup';

function setup(spec: Partial<FakeHostSpec> = {}): void {
  fs = buildFakeHost(root, { layout: 'v2', v2Controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma'], cpus: '0-3', ...spec });
}
const read = (p: string): string => readFileSync(root + p, 'utf8').trim();
const open = (path: string | undefined, opts: { warnings?: string[]; devicePrograms?: DeviceProgramLoader } = {}): BerthCgroupManager =>
  openCgroupManager(path, 'c1', { fs, onWarning: (m) => opts.warnings?.push(m), devicePrograms: opts.devicePrograms ?? (() => assert.fail('no device program expected')) });

describe('cgroup v2 backend (fake cgroupfs)', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cg-v2-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates the path, enables controllers in every ancestor and writes the limits', () => {
    setup();
    const warnings: string[] = [];
    const m = open('/berth/c1', { warnings });
    assert.equal(m.layout, 'v2');
    assert.equal(m.path, '/berth/c1');
    m.create({
      memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 16 * MiB, swappiness: 10 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: '1-2', mems: '0', idle: 0 },
      pids: { limit: 16 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
      rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } },
      unified: { 'memory.high': '50331648' },
    });
    for (const dir of [CG, `${CG}/berth`]) {
      const enabled = read(`${dir}/cgroup.subtree_control`).split(' ');
      for (const c of ['cpu', 'io', 'memory', 'pids', 'cpuset', 'hugetlb', 'rdma']) assert.ok(enabled.includes(c), `${c} enabled in ${dir}`);
    }
    const d = `${CG}/berth/c1`;
    assert.equal(read(`${d}/cgroup.subtree_control`), '', 'the leaf enables nothing');
    assert.equal(read(`${d}/memory.max`), String(64 * MiB));
    assert.equal(read(`${d}/memory.swap.max`), String(32 * MiB));
    assert.equal(read(`${d}/memory.low`), String(16 * MiB));
    assert.equal(read(`${d}/memory.high`), '50331648');
    assert.equal(read(`${d}/cpu.weight`), '39');
    assert.equal(read(`${d}/cpu.max`), '50000 100000');
    assert.equal(read(`${d}/cpu.max.burst`), '1000');
    assert.equal(read(`${d}/cpuset.cpus`), '1-2');
    assert.equal(read(`${d}/pids.max`), '16');
    assert.equal(read(`${d}/io.weight`), 'default 4950');
    assert.equal(read(`${d}/io.max`), '8:0 rbps=1000 wiops=50');
    assert.equal(read(`${d}/hugetlb.2MB.max`), String(4 * MiB));
    assert.equal(read(`${d}/rdma.max`), 'mlx5_0 hca_handle=3 hca_object=100');
    assert.deepEqual(m.procsFiles(), [`${root}${d}/cgroup.procs`]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /swappiness/);
  });

  it('maps unlimited values to "max" and keeps the other half of cpu.max', () => {
    setup();
    const m = open('/x');
    m.create({ memory: { limit: -1 }, cpu: { period: 200000 }, pids: { limit: 0 } });
    assert.equal(read(`${CG}/x/memory.max`), 'max');
    assert.equal(read(`${CG}/x/memory.swap.max`), 'max');
    assert.equal(read(`${CG}/x/cpu.max`), 'max 200000');
    assert.equal(read(`${CG}/x/pids.max`), 'max');
    m.update({ cpu: { quota: 20000 }, memory: { limit: JSON.parse('9223372036854775807') as number } });
    assert.equal(read(`${CG}/x/cpu.max`), '20000 200000');
    assert.equal(read(`${CG}/x/memory.max`), 'max');
    m.destroy();
  });

  it('update() converts swap against the limit in force and checks usage before update', () => {
    setup();
    const m = open('/x');
    m.create({ memory: { limit: 64 * MiB } });
    m.update({ memory: { swap: 128 * MiB } });
    assert.equal(read(`${CG}/x/memory.swap.max`), String(64 * MiB));
    fs.write(`${CG}/x/memory.current`, String(40 * MiB));
    assert.throws(() => m.update({ memory: { limit: 32 * MiB, checkBeforeUpdate: true } }), /memory\.limit: .*below the current usage/);
    m.update({ memory: { limit: 48 * MiB, checkBeforeUpdate: true } });
    assert.equal(read(`${CG}/x/memory.max`), String(48 * MiB));
  });

  it('update() enables a controller the container did not need before', () => {
    setup();
    const m = open('/a/b');
    m.create({});
    assert.ok(!read(`${CG}/a/cgroup.subtree_control`).includes('rdma'));
    m.update({ rdma: { mlx5_0: { hcaHandles: 1 } } });
    assert.ok(read(`${CG}/a/cgroup.subtree_control`).includes('rdma'));
    assert.equal(read(`${CG}/a/b/rdma.max`), 'mlx5_0 hca_handle=1');
  });

  it('refuses to enable controllers in an ancestor that has processes (leaf rule)', () => {
    setup({ ownCgroup: '/user/session' });
    const m = open('ctr'); // relative: below the runtime's own cgroup, which has a process
    assert.equal(m.path, '/user/session/ctr');
    assert.throws(() => m.create({ memory: { limit: 64 * MiB } }), (e: unknown) => {
      assert.ok(e instanceof CgroupError);
      assert.equal(e.field, 'linux.cgroupsPath');
      assert.match(e.message, /has processes, and cgroup v2 allows processes only in leaf cgroups/);
      return true;
    });
    assert.ok(!existsSync(`${root}${CG}/user/session/ctr`), 'nothing left behind');
  });

  it('refuses a pre-existing cgroup that is not a leaf', () => {
    setup();
    fs.mkdir(`${CG}/pod`);
    fs.write(`${CG}/cgroup.subtree_control`, '+memory');
    fs.write(`${CG}/pod/cgroup.subtree_control`, '+memory');
    assert.throws(() => open('/pod').create({}), /has controllers enabled for child cgroups/);
  });

  it('errors for unavailable controllers before creating anything', () => {
    setup({ v2Controllers: ['cpu', 'memory', 'pids'] });
    assert.throws(() => open('/a/b').create({ blockIO: { weight: 100 } }), /blockIO\.weight: the io controller is not enabled in the cgroup v2 root/);
    assert.ok(!existsSync(`${root}${CG}/a`));
  });

  it('removes every directory it created when applying fails', () => {
    setup({ v2Controllers: ['cpu', 'memory', 'pids'] });
    assert.throws(() => open('/a/b/c').create({ memory: { limit: 64 * MiB }, unified: { 'memory.nosuchfile': '1' } }), /unified\["memory\.nosuchfile"\]: .*does not exist/);
    assert.ok(!existsSync(`${root}${CG}/a`), 'all three levels removed');
  });

  it('keeps pre-existing parents on destroy and removes the ones it created if empty', () => {
    setup();
    fs.mkdir(`${CG}/shared`);
    const a = open('/shared/new/a');
    const b = open('/shared/new/b');
    a.create({});
    b.create({});
    a.destroy();
    assert.ok(existsSync(`${root}${CG}/shared/new/b`), 'b stays');
    assert.ok(!existsSync(`${root}${CG}/shared/new/a`));
    b.destroy();
    assert.ok(existsSync(`${root}${CG}/shared`), 'a pre-existing parent stays');
    // a created shared/new but could not remove it while b was in it; b did not create it.
    assert.ok(existsSync(`${root}${CG}/shared/new`));
    const c = open('/shared/only/c');
    c.create({});
    c.destroy();
    assert.ok(!existsSync(`${root}${CG}/shared/only`), 'an empty parent this manager created is removed');
  });

  it('destroy removes cgroups made inside the container and refuses while processes remain', () => {
    setup();
    const m = open('/c');
    m.create({});
    fs.mkdir(`${CG}/c/inner`);
    fs.write(`${CG}/c/inner/cgroup.procs`, '99999999');
    assert.deepEqual(m.pids(), [99999999]);
    assert.throws(() => m.destroy(), /processes 99999999 are still in it/);
    m.kill('SIGKILL'); // the fake's cgroup.kill empties cgroup.procs below it, like the kernel
    m.destroy();
    assert.ok(!existsSync(`${root}${CG}/c`));
  });

  it('freezes through cgroup.freeze and reads cgroup.events', () => {
    setup();
    const m = open('/f');
    m.create({});
    assert.equal(m.isFrozen(), false);
    m.freeze();
    assert.equal(read(`${CG}/f/cgroup.freeze`), '1');
    assert.equal(m.isFrozen(), true);
    m.thaw();
    assert.equal(m.isFrozen(), false);
  });

  it('a freeze asked for but not in force (a task came in meanwhile) is paused, and thaw undoes it', () => {
    setup();
    const m = open('/f');
    m.create({});
    m.freeze();
    writeFileSync(root + `${CG}/f/cgroup.events`, 'populated 1\nfrozen 0\n'); // as the kernel shows it then
    assert.equal(m.isFrozen(), true, 'cgroup.freeze 1 is a paused container, as runc reads it');
    m.thaw();
    assert.equal(read(`${CG}/f/cgroup.freeze`), '0');
    assert.equal(m.isFrozen(), false);
  });

  it('kills with cgroup.kill for SIGKILL', () => {
    setup();
    const m = open('/k');
    m.create({});
    m.kill('SIGKILL');
    assert.ok(fs.writes.some((w) => w.path === `${CG}/k/cgroup.kill` && w.data === '1'));
  });

  it('reports stats from memory.events, cpu.stat, pids and io.stat', () => {
    setup();
    const m = open('/s');
    m.create({ memory: { limit: 64 * MiB }, pids: { limit: 10 } });
    fs.write(`${CG}/s/memory.events`, 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n');
    fs.write(`${CG}/s/cpu.stat`, 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_throttled 3\nthrottled_usec 20\n');
    fs.write(`${CG}/s/io.stat`, '8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n');
    fs.write(`${CG}/s/memory.current`, '4096');
    const s = m.stats();
    assert.deepEqual(s.memory, { usage: 4096, limit: 64 * MiB, maxUsage: 0, failcnt: 7, oomKills: 2 });
    assert.deepEqual(s.cpu, { usageNs: 1500000, userNs: 1000000, systemNs: 500000, throttledPeriods: 3, throttledNs: 20000 });
    assert.deepEqual(s.pids, { current: 0, limit: 10 });
    assert.deepEqual(s.blkio, { readBytes: 101, writeBytes: 202 });
    assert.ok(s.pressure?.cpu?.full);
    assert.equal(m.oomKillCount(), 2);
  });

  it('plans a bind of the own cgroup, or a cgroup2 mount with a cgroup namespace', () => {
    setup();
    const m = open('/p');
    assert.deepEqual(m.mountPlan('/sys/fs/cgroup', false), { tmpfs: null, binds: [{ source: `${root}${CG}/p`, destination: '/sys/fs/cgroup' }], mounts: [] });
    assert.deepEqual(m.mountPlan('/sys/fs/cgroup', true), { tmpfs: null, binds: [], mounts: [{ destination: '/sys/fs/cgroup', fstype: 'cgroup2', data: '' }] });
  });

  it('enforces device rules with an eBPF program: attached on create, replaced or removed on update', () => {
    setup();
    const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];
    const calls: [string, Buffer | null][] = [];
    const m = open('/d', { devicePrograms: (dir, code) => void calls.push([dir, code]) });
    m.create({ devices: rules });
    assert.deepEqual(calls, [[`${root}${CG}/d`, compileDeviceRules(rules).code]]);
    m.update({ devices: [{ allow: false, access: 'rwm' }] });
    assert.deepEqual(calls[1], [`${root}${CG}/d`, compileDeviceRules([{ allow: false, access: 'rwm' }]).code]);
    m.update({ devices: [{ allow: true, access: 'rwm' }] });
    assert.deepEqual(calls[2], [`${root}${CG}/d`, null]);
    // allow-all on create: no program at all
    open('/e').create({ devices: [{ allow: true, access: 'rwm' }] });
    assert.equal(calls.length, 3);
  });

  it('rolls back the cgroup when the device program cannot be attached', () => {
    setup();
    const m = open('/d', {
      devicePrograms: () => {
        throw new CgroupError('no bpf', 'linux.resources.devices');
      },
    });
    assert.throws(() => m.create({ devices: [{ allow: false, access: 'rwm' }] }), /linux\.resources\.devices: no bpf/);
    assert.ok(!existsSync(`${root}${CG}/d`));
  });

  it('reports the systemd driver clearly', () => {
    setup();
    assert.throws(() => openCgroupManager('/x', 'c', { fs, systemd: true }), /systemd cgroup driver was requested .*but systemd is not running on this host/);
  });
});
