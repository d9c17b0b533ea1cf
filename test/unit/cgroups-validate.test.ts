import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CgroupError } from '../../src/cgroups/errors.js';
import type { HostFacts } from '../../src/cgroups/host.js';
import { checkSupport, requiredControllers, type Support } from '../../src/cgroups/support.js';
import { validateResources } from '../../src/cgroups/validate.js';
import type { LinuxResources } from '../../src/spec/types.js';

const host: HostFacts = {
  cpus: () => '0-1',
  mems: () => '0',
  blockDeviceExists: (maj, min) => maj === 254 && min === 0,
  hugepageSizes: () => ['2MB', '1GB'],
};

function rejects(r: LinuxResources, field: string, msg?: RegExp): void {
  assert.throws(() => validateResources(r, host), (e: unknown) => {
    assert.ok(e instanceof CgroupError, `expected CgroupError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.ok(e.message.startsWith(field + ': '), e.message);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

const MiB = 1024 * 1024;

describe('validateResources', () => {
  it('accepts a typical config', () => {
    validateResources({
      memory: { limit: 64 * MiB, swap: 128 * MiB, reservation: 32 * MiB, swappiness: 0, kernel: -1, disableOOMKiller: false },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0', idle: 0 },
      pids: { limit: -1 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }],
      unified: { 'memory.high': '100M' },
    }, host);
  });

  it('rejects negative and absurd memory values', () => {
    rejects({ memory: { limit: -5 } }, 'linux.resources.memory.limit', /negative/);
    rejects({ memory: { limit: 1000 } }, 'linux.resources.memory.limit', /minimum/);
    rejects({ memory: { limit: 1.5 * MiB + 0.5 } }, 'linux.resources.memory.limit', /not an integer/);
    rejects({ memory: { swappiness: 101 } }, 'linux.resources.memory.swappiness', /0\.\.100/);
    rejects({ memory: { reservation: 128 * MiB, limit: 64 * MiB } }, 'linux.resources.memory.reservation');
  });

  it('rejects swap below the memory limit (memory+swap semantics)', () => {
    rejects({ memory: { limit: 64 * MiB, swap: 32 * MiB } }, 'linux.resources.memory.swap', /memory\+swap/);
    rejects({ memory: { swap: 32 * MiB } }, 'linux.resources.memory.swap', /needs memory\.limit/);
    rejects({ memory: { limit: -1, swap: 32 * MiB } }, 'linux.resources.memory.swap', /unlimited/);
    validateResources({ memory: { swap: 32 * MiB } }, host, { update: true });
  });

  it('rejects cpu values out of range', () => {
    rejects({ cpu: { shares: 1 } }, 'linux.resources.cpu.shares', /2\.\.262144/);
    rejects({ cpu: { shares: 300000 } }, 'linux.resources.cpu.shares');
    rejects({ cpu: { quota: 500 } }, 'linux.resources.cpu.quota', /1000/);
    rejects({ cpu: { quota: -2 } }, 'linux.resources.cpu.quota');
    rejects({ cpu: { period: 2000000 } }, 'linux.resources.cpu.period');
    rejects({ cpu: { quota: 10000, burst: 20000 } }, 'linux.resources.cpu.burst', /exceed/);
    rejects({ cpu: { realtimeRuntime: 2000, realtimePeriod: 1000 } }, 'linux.resources.cpu.realtimeRuntime');
    rejects({ cpu: { idle: 2 } }, 'linux.resources.cpu.idle');
  });

  it('rejects cpus and mems the host does not have', () => {
    rejects({ cpu: { cpus: '0-3' } }, 'linux.resources.cpu.cpus', /cpu 2,3 not available on this host \(it has 0-1\)/);
    rejects({ cpu: { cpus: 'x' } }, 'linux.resources.cpu.cpus', /not a cpu list/);
    rejects({ cpu: { mems: '1' } }, 'linux.resources.cpu.mems', /memory node 1/);
  });

  it('rejects unknown block devices and bad rates', () => {
    rejects({ blockIO: { throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }, 'linux.resources.blockIO.throttleWriteBpsDevice[0]', /8:0 does not exist/);
    rejects({ blockIO: { throttleReadIOPSDevice: [{ major: 254, minor: 0, rate: -1 }] } }, 'linux.resources.blockIO.throttleReadIOPSDevice[0].rate');
    rejects({ blockIO: { weightDevice: [{ major: 8, minor: 16, weight: 100 }] } }, 'linux.resources.blockIO.weightDevice[0]');
    rejects({ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight', /10\.\.1000/);
  });

  it('rejects bad pids, hugepage, network, device and unified values', () => {
    rejects({ pids: { limit: -2 } }, 'linux.resources.pids.limit');
    rejects({ hugepageLimits: [{ pageSize: '4MB', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize', /not supported by this host \(it has 2MB, 1GB\)/);
    rejects({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize');
    rejects({ network: { classID: -1 } }, 'linux.resources.network.classID');
    rejects({ devices: [{ allow: true, type: 'x', access: 'rwm' }] }, 'linux.resources.devices[0].type');
    rejects({ devices: [{ allow: true, type: 'c', access: 'rwx' }] }, 'linux.resources.devices[0].access');
    rejects({ devices: [{ allow: true, type: 'a', access: 'r' }] }, 'linux.resources.devices[0]', /type "a"/);
    rejects({ unified: { '../etc/passwd': 'x' } }, 'linux.resources.unified["../etc/passwd"]');
    rejects({ unified: { 'cgroup.procs': '1' } }, 'linux.resources.unified["cgroup.procs"]', /managed by the runtime/);
  });
});

describe('checkSupport', () => {
  const hybrid: Support = { layout: 'hybrid', controllers: new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']), unifiedControllers: new Set(['hugetlb']) };
  const v2: Support = { layout: 'v2', controllers: new Set(['cpu', 'cpuset', 'io', 'memory', 'pids', 'hugetlb']), unifiedControllers: new Set() };
  const v1: Support = { layout: 'v1', controllers: new Set(['cpu', 'memory']), unifiedControllers: new Set() };
  const noWarn = (m: string): never => assert.fail(`unexpected warning ${m}`);

  it('errors for controllers the host does not have', () => {
    assert.throws(() => checkSupport({ network: { classID: 0x100001 } }, hybrid, noWarn), /linux\.resources\.network\.classID: the net_cls controller is not mounted/);
    assert.throws(() => checkSupport({ rdma: { mlx5_0: { hcaHandles: 1 } } }, hybrid, noWarn), /linux\.resources\.rdma: the rdma controller/);
    assert.throws(() => checkSupport({ pids: { limit: 5 } }, v1, noWarn), /pids controller/);
    checkSupport({ pids: { limit: -1 } }, v1, noWarn); // nothing to enforce
    checkSupport({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }, hybrid, noWarn); // through the unified hugetlb
  });

  it('decides v2-only errors and warnings', () => {
    const warnings: string[] = [];
    checkSupport({ memory: { kernel: 1 << 26, kernelTCP: 1 << 26, swappiness: 10, useHierarchy: false } }, v2, (m) => warnings.push(m));
    assert.equal(warnings.length, 4);
    assert.match(warnings[0]!, /^linux\.resources\.memory\.kernel: /);
    assert.throws(() => checkSupport({ memory: { disableOOMKiller: true } }, v2, noWarn), /disableOOMKiller/);
    assert.throws(() => checkSupport({ cpu: { realtimeRuntime: 1000 } }, v2, noWarn), /realtimeRuntime: cgroup v2 has no real-time/);
    assert.throws(() => checkSupport({ blockIO: { leafWeight: 100 } }, v2, noWarn), /leafWeight/);
    assert.throws(() => checkSupport({ network: { priorities: [{ name: 'eth0', priority: 1 }] } }, v2, noWarn), /net_prio/);
  });

  it('accepts device rules on v2 (enforced by an eBPF device program) without warnings', () => {
    const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];
    checkSupport({ devices: rules }, v2, noWarn);
    checkSupport({ devices: [{ allow: true, access: 'rwm' }] }, v2, noWarn);
  });

  it('limits unified keys to v2 and to the unified controllers on hybrid', () => {
    assert.throws(() => checkSupport({ unified: { 'memory.high': '1G' } }, v1, noWarn), /no cgroup v2 hierarchy/);
    assert.throws(() => checkSupport({ unified: { 'memory.high': '1G' } }, hybrid, noWarn), /memory controller is not in the cgroup v2 hierarchy of this hybrid host \(it has: hugetlb\)/);
    checkSupport({ unified: { 'hugetlb.2MB.max': '0' } }, hybrid, noWarn);
    assert.throws(() => checkSupport({ unified: { 'rdma.max': 'x' } }, v2, noWarn), /rdma controller is not enabled in the cgroup v2 root/);
  });

  it('names the controllers each layout needs', () => {
    const r: LinuxResources = { cpu: { shares: 0, cpus: '1' }, blockIO: { weight: 100 }, memory: { limit: 0 } };
    assert.deepEqual([...requiredControllers(r, true).keys()], ['cpuset', 'io']);
    assert.deepEqual([...requiredControllers(r, false).keys()], ['cpuset', 'blkio']);
  });
});
