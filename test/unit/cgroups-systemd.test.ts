// The systemd cgroup driver without systemd: the D-Bus wire format, runc's naming rules, the
// unit properties, and the whole manager against a fake systemd peer (another process, on a
// unix socket) over a fake cgroupfs tree. The real thing runs in
// test/integration/cgroups-systemd.test.ts (systemd booted in a system container).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'node:test';
import { FakeCgroupFs, type FakeHostSpec } from '../../src/cgroups/fake.js';
import { clearHostCache, openCgroupManager, type BerthCgroupManager } from '../../src/cgroups/index.js';
import { decodeMessage, encodeMessage, marshal, MSG, messageLength, unmarshal, variant } from '../../src/cgroups/systemd/dbus-wire.js';
import { cpusetMask, parseSystemdPath, quotaPerSecUSec, resourceProperties } from '../../src/cgroups/systemd/unit.js';
import { buildFakeHost } from '../../src/cgroups/fake.js';

const MiB = 1024 * 1024;
const CG = '/sys/fs/cgroup';
const PEER = fileURLToPath(new URL('../helpers/fake-systemd-peer.js', import.meta.url));

describe('D-Bus wire format', () => {
  it('round-trips the StartTransientUnit arguments', () => {
    const sig = 'ssa(sv)a(sa(sv))';
    const props = [['Description', variant('s', 'x')], ['PIDs', variant('au', [1, 4242])], ['Delegate', variant('b', true)],
      ['MemoryLimit', variant('t', 33554432)], ['AllowedCPUs', variant('ay', Buffer.from([5]))], ['Big', variant('t', 0xffffffffffffffffn)]];
    const body = ['berth-a.scope', 'replace', props, []];
    const out = unmarshal(sig, marshal(sig, body));
    assert.deepEqual(out, body);
  });

  it('encodes a method call byte for byte as systemd accepts it, and decodes it back', () => {
    const m = encodeMessage({ type: MSG.call, serial: 1, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'Subscribe' });
    // captured from a session with systemd 252, which answered it
    const want = '6c01000100000000010000006a00000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e616765720000000000000000030173000900000053756273637269626500000000000000';
    assert.equal(m.toString('hex'), want);
    assert.equal(messageLength(m), m.length);
    assert.equal(messageLength(m.subarray(0, m.length - 1)), 0);
    const d = decodeMessage(m);
    assert.equal(d.member, 'Subscribe');
    assert.equal(d.path, '/org/freedesktop/systemd1');
  });

  it('decodes a signal with a body (JobRemoved)', () => {
    const m = encodeMessage({ type: MSG.signal, serial: 7, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'JobRemoved', signature: 'uoss', body: [3, '/org/freedesktop/systemd1/job/3', 'a.scope', 'done'] });
    assert.deepEqual(decodeMessage(m).body, [3, '/org/freedesktop/systemd1/job/3', 'a.scope', 'done']);
  });

  it('rejects bad signatures', () => {
    assert.throws(() => marshal('a(s', [[]]), /unclosed/);
    assert.throws(() => marshal('z', [1]), /unknown type code z/);
  });
});

describe('systemd names and properties (as runc)', () => {
  it('maps slice:prefix:name to a scope in the expanded slice', () => {
    assert.deepEqual(parseSystemdPath('system.slice:berth:abc', 'abc'), { unit: 'berth-abc.scope', slice: 'system.slice', path: '/system.slice/berth-abc.scope' });
    assert.deepEqual(parseSystemdPath(undefined, 'c1'), { unit: 'berth-c1.scope', slice: 'system.slice', path: '/system.slice/berth-c1.scope' });
    assert.deepEqual(parseSystemdPath('machine-berth.slice::c2', 'x'), { unit: 'c2.scope', slice: 'machine-berth.slice', path: '/machine.slice/machine-berth.slice/c2.scope' });
    assert.deepEqual(parseSystemdPath('-.slice:p:c', 'x'), { unit: 'p-c.scope', slice: '-.slice', path: '/p-c.scope' });
    assert.deepEqual(parseSystemdPath('a.slice::a-b.slice', 'x'), { unit: 'a-b.slice', slice: 'a.slice', path: '/a.slice/a-b.slice' });
  });

  it('refuses paths systemd cannot take, naming linux.cgroupsPath', () => {
    assert.throws(() => parseSystemdPath('/berth/c1', 'c1'), /linux\.cgroupsPath: .*slice:prefix:name/);
    assert.throws(() => parseSystemdPath('a:b', 'c1'), /slice:prefix:name/);
    assert.throws(() => parseSystemdPath('system.slice:berth:', 'c1'), /name part .* is empty/);
    assert.throws(() => parseSystemdPath('system.slice:berth:a/b', 'c1'), /may contain only/);
    assert.throws(() => parseSystemdPath('system:berth:c', 'c1'), /not a valid systemd slice/);
    assert.throws(() => parseSystemdPath('a--b.slice:berth:c', 'c1'), /not a valid systemd slice/);
    assert.throws(() => parseSystemdPath('a.slice::b.slice', 'c1'), /not inside a\.slice/);
  });

  it('converts limits to unit properties (v1 and v2 names, quota in 10 ms steps, cpu masks)', () => {
    assert.equal(quotaPerSecUSec(50000, 100000), 500000);
    assert.equal(quotaPerSecUSec(12345, 100000), 130000);
    assert.deepEqual([...cpusetMask('0-2,9')], [0b111, 0b10]);
    const r = { memory: { limit: 64 * MiB, swap: 96 * MiB }, cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '1' }, pids: { limit: 16 } };
    const v1 = Object.fromEntries(resourceProperties(r, false).map(([k, v]) => [k, v.value]));
    assert.deepEqual(v1, { MemoryLimit: 64 * MiB, CPUShares: 1024, CPUQuotaPeriodUSec: 100000, CPUQuotaPerSecUSec: 500000, TasksMax: 16 });
    const v2 = Object.fromEntries(resourceProperties(r, true).map(([k, v]) => [k, v.value]));
    assert.equal(v2.MemoryMax, 64 * MiB);
    assert.equal(v2.MemorySwapMax, 32 * MiB);
    assert.equal(v2.CPUWeight, 39);
    assert.deepEqual([...(v2.AllowedCPUs as Buffer)], [2]);
  });
});

describe('systemd driver against a fake systemd peer (fake cgroupfs)', () => {
  let root = '';
  let peer: ChildProcess | undefined;
  let log = '';
  let fs: FakeCgroupFs;

  afterEach(() => {
    peer?.kill('SIGTERM');
    peer = undefined;
    clearHostCache();
    rmSync(root, { recursive: true, force: true });
  });

  function start(spec: FakeHostSpec, mode = 'ok'): string {
    root = mkdtempSync(join(tmpdir(), 'berth-cg-sd-'));
    fs = buildFakeHost(root, spec);
    log = join(root, 'calls.log');
    const socket = join(root, 'sd.sock');
    peer = spawn(process.execPath, [PEER, socket, root, JSON.stringify(spec), log, mode], { stdio: 'inherit' });
    const deadline = Date.now() + 20000;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error('the fake systemd peer did not start');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    return socket;
  }

  const calls = (): { member: string; body: unknown[] }[] =>
    (existsSync(log) ? readFileSync(log, 'utf8') : '').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { member: string; body: unknown[] }).filter((c) => c.member !== '(listening)');
  const open = (socket: string, path?: string): BerthCgroupManager => openCgroupManager(path, 'c1', { fs, systemd: true, systemdSocket: socket });
  /** Running (a killed child stays a zombie until node's event loop reaps it: that counts as gone). */
  const alive = (pid: number): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };

  it('creates a delegated transient scope with the limits, fills in what systemd does not manage, stops it on destroy', () => {
    const socket = start({ layout: 'hybrid', systemd: true, cpus: '0-3', v2Controllers: ['hugetlb'] });
    const m = open(socket, 'system.slice:berth:c1');
    m.create({ memory: { limit: 64 * MiB }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '1-2' }, pids: { limit: 16 } });
    assert.equal(m.path, '/system.slice/berth-c1.scope');
    const start1 = calls().find((c) => c.member === 'StartTransientUnit')!;
    assert.equal(start1.body[0], 'berth-c1.scope');
    assert.equal(start1.body[1], 'replace');
    const props = Object.fromEntries((start1.body[2] as [string, { sig: string; value: unknown }][]).map(([k, v]) => [k, v.value]));
    assert.equal(props.Slice, 'system.slice');
    assert.equal(props.Delegate, true);
    assert.equal(props.MemoryLimit, 64 * MiB);
    assert.equal(props.TasksMax, 16);
    assert.equal(props.CPUQuotaPerSecUSec, 500000);
    const [placeholder] = props.PIDs as number[];
    assert.ok(placeholder && alive(placeholder), 'the scope starts with a live placeholder process');
    // systemd made memory/pids/...; berth made cpuset and freezer, and wrote every limit
    const dir = (h: string): string => `${root}${CG}/${h}/system.slice/berth-c1.scope`;
    assert.equal(readFileSync(`${dir('memory')}/memory.limit_in_bytes`, 'utf8').trim(), String(64 * MiB));
    assert.equal(readFileSync(`${dir('pids')}/pids.max`, 'utf8').trim(), '16');
    assert.equal(readFileSync(`${dir('cpuset')}/cpuset.cpus`, 'utf8').trim(), '1-2');
    assert.ok(existsSync(dir('freezer')));
    assert.ok(m.procsFiles().includes(`${dir('unified')}/cgroup.procs`));
    m.joined?.();
    const deadline = Date.now() + 5000;
    while (alive(placeholder) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    assert.ok(!alive(placeholder), 'joined() ends the placeholder');
    m.destroy();
    assert.ok(calls().some((c) => c.member === 'StopUnit' && c.body[0] === 'berth-c1.scope'));
    for (const h of ['memory', 'cpuset', 'freezer', 'pids', 'unified', 'systemd']) assert.ok(!existsSync(dir(h)), `${h} left behind`);
  });

  it('prepare() connects ahead (on the socket descriptor, no worker thread); the calls use it', async () => {
    const socket = start({ layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] });
    const m = open(socket, 'system.slice:berth:fd1');
    await m.prepare?.();
    const t0 = Date.now();
    m.create({ pids: { limit: 8 } });
    m.joined?.();
    m.destroy();
    assert.deepEqual(calls().map((c) => c.member), ['Subscribe', 'StartTransientUnit', 'StopUnit', 'ResetFailedUnit']);
    assert.ok(Date.now() - t0 < 20000);
    assert.ok(!existsSync(`${root}${CG}/pids/system.slice/berth-fd1.scope`));
  });

  it('update() writes the files and tells systemd (SetUnitProperties, runtime)', () => {
    const socket = start({ layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] });
    const m = open(socket);
    m.create({ memory: { limit: 64 * MiB } });
    m.update({ memory: { limit: 96 * MiB } });
    assert.equal(readFileSync(`${root}${CG}/memory/system.slice/berth-c1.scope/memory.limit_in_bytes`, 'utf8').trim(), String(96 * MiB));
    const set = calls().find((c) => c.member === 'SetUnitProperties')!;
    assert.equal(set.body[0], 'berth-c1.scope');
    assert.equal(set.body[1], true);
    assert.deepEqual(set.body[2], [['MemoryLimit', { sig: 't', value: 96 * MiB }]]);
    m.destroy();
  });

  it('cgroup v2: MemoryMax, CPUWeight, AllowedCPUs', () => {
    const socket = start({ layout: 'v2', systemd: true, cpus: '0-3', v2Controllers: ['cpu', 'cpuset', 'memory', 'pids', 'io'] });
    const m = open(socket, 'machine.slice:berth:c1');
    m.create({ memory: { limit: 64 * MiB }, cpu: { shares: 1024, cpus: '3' } });
    const props = Object.fromEntries((calls().find((c) => c.member === 'StartTransientUnit')!.body[2] as [string, { value: unknown }][]).map(([k, v]) => [k, v.value]));
    assert.equal(props.MemoryMax, 64 * MiB);
    assert.equal(props.CPUWeight, 39);
    assert.deepEqual(props.AllowedCPUs, { type: 'Buffer', data: [8] });
    assert.equal(readFileSync(`${root}${CG}/machine.slice/berth-c1.scope/memory.max`, 'utf8').trim(), String(64 * MiB));
    m.destroy();
    assert.ok(!existsSync(`${root}${CG}/machine.slice/berth-c1.scope`));
  });

  it('a unit that exists already is an error naming linux.cgroupsPath; the placeholder is gone', () => {
    const socket = start({ layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] }, 'exists');
    const m = open(socket);
    assert.throws(() => m.create({}), /linux\.cgroupsPath: systemd could not create berth-c1\.scope: unit berth-c1\.scope already exists/);
    const pid = (calls().find((c) => c.member === 'StartTransientUnit')!.body[2] as [string, { value: unknown }][]).find(([k]) => k === 'PIDs')![1].value as number[];
    const deadline = Date.now() + 5000;
    while (alive(pid[0]!) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    assert.ok(!alive(pid[0]!));
  });

  it('a failed start job is an error; nothing is left', () => {
    const socket = start({ layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] }, 'fail-job');
    const m = open(socket);
    assert.throws(() => m.create({ pids: { limit: 10 } }), /systemd could not start berth-c1\.scope \(job result "failed"/);
    for (const h of ['memory', 'cpuset', 'pids']) assert.ok(!existsSync(`${root}${CG}/${h}/system.slice/berth-c1.scope`), h);
  });

  it('bad limits fail before systemd is asked', () => {
    const socket = start({ layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] });
    const m = open(socket);
    assert.throws(() => m.create({ memory: { limit: 64 * MiB, swap: 32 * MiB } }), /linux\.resources\.memory\.swap/);
    assert.ok(!calls().some((c) => c.member === 'StartTransientUnit'));
  });

  it('without systemd: a clear error; with systemd but no socket: says which socket', () => {
    root = mkdtempSync(join(tmpdir(), 'berth-cg-sd-'));
    fs = buildFakeHost(root, { layout: 'hybrid', v2Controllers: ['hugetlb'] });
    assert.throws(() => openCgroupManager(undefined, 'c1', { fs, systemd: true }), /systemd is not running on this host/);
    clearHostCache();
    rmSync(root, { recursive: true, force: true });
    root = mkdtempSync(join(tmpdir(), 'berth-cg-sd-'));
    fs = buildFakeHost(root, { layout: 'hybrid', systemd: true, v2Controllers: ['hugetlb'] });
    const m = openCgroupManager(undefined, 'c1', { fs, systemd: true });
    assert.throws(() => m.create({}), new RegExp(`cannot talk to systemd on ${root}/run/systemd/private: .*ENOENT`));
  });
});
