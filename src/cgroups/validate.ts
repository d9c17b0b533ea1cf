// Validation of linux.resources before anything touches the host: every bad value is reported
// with the field it is in and what would be accepted. Host facts (cpus, memory nodes, block
// devices, huge page sizes) come through HostFacts so this stays testable.
import type { LinuxResources, LinuxThrottleDevice } from '../spec/types.js';
import { isUnlimited, parseIdList } from './convert.js';
import { normalizeDeviceRules } from './devices.js';
import { CgroupError } from './errors.js';
import type { HostFacts } from './host.js';

const R = 'linux.resources';
/** Smaller memory limits are almost certainly a unit mistake (bytes, not MiB). */
export const MIN_MEMORY_LIMIT = 1024 * 1024;

function fail(field: string, msg: string): never {
  throw new CgroupError(msg, field);
}

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `${JSON.stringify(v)} is not an integer`);
  return v;
}

/** A byte limit: -1 (unlimited), 0 (not set) or a positive number. */
function bytes(v: unknown, field: string): number {
  const n = int(v, field);
  if (n < -1) fail(field, `${n} is negative; use -1 for unlimited or a number of bytes`);
  return n;
}

function range(v: unknown, field: string, lo: number, hi: number, unset = true): number {
  const n = int(v, field);
  if ((n === 0 && unset) || (n >= lo && n <= hi)) return n;
  fail(field, `${n} is out of range (${lo}..${hi}${unset ? ', or 0 for not set' : ''})`);
}

function bool(v: unknown, field: string): void {
  if (typeof v !== 'boolean') fail(field, `${JSON.stringify(v)} is not true or false`);
}

function idList(v: unknown, field: string, host: string, what: string): void {
  if (typeof v !== 'string') fail(field, `${JSON.stringify(v)} is not a string like "0-3,5"`);
  let ids: number[];
  try {
    ids = parseIdList(v);
  } catch (e) {
    fail(field, `"${v}" is not a ${what} list like "0-3,5": ${(e as Error).message}`);
  }
  if (ids.length === 0) return;
  const have = new Set(parseIdList(host));
  const missing = ids.filter((i) => !have.has(i));
  if (missing.length > 0) fail(field, `${what} ${missing.join(',')} not available on this host (it has ${host || 'none'})`);
}

function device(d: { major: unknown; minor: unknown }, field: string, host: HostFacts | undefined): void {
  const major = int(d.major, `${field}.major`);
  const minor = int(d.minor, `${field}.minor`);
  if (major < 0 || minor < 0) fail(field, `${major}:${minor} is not a device number`);
  if (host && !host.blockDeviceExists(major, minor)) {
    fail(field, `block device ${major}:${minor} does not exist on this host (no /sys/dev/block/${major}:${minor}); see lsblk for the devices`);
  }
}

function throttles(list: LinuxThrottleDevice[] | undefined, field: string, host: HostFacts | undefined): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) fail(field, 'must be a list');
  const seen = new Set<string>();
  list.forEach((t, i) => {
    const f = `${field}[${i}]`;
    device(t, f, host);
    const rate = int(t.rate, `${f}.rate`);
    if (rate < 0) fail(`${f}.rate`, `${rate} is negative; use 0 to remove the limit`);
    const key = `${t.major}:${t.minor}`;
    if (seen.has(key)) fail(f, `device ${key} is listed twice`);
    seen.add(key);
  });
}

export interface ValidateOptions {
  /** update(): values combine with what is in force, so "swap needs limit" is checked later. */
  update?: boolean;
}

export function validateResources(r: LinuxResources, host: HostFacts | undefined, opts: ValidateOptions = {}): void {
  if (typeof r !== 'object' || r === null) fail(R, 'must be an object');
  const m = r.memory;
  if (m !== undefined) {
    const f = `${R}.memory`;
    const limit = m.limit === undefined ? 0 : bytes(m.limit, `${f}.limit`);
    if (limit > 0 && limit < MIN_MEMORY_LIMIT) fail(`${f}.limit`, `${limit} bytes is below the minimum of ${MIN_MEMORY_LIMIT} (1 MiB); the value is in bytes`);
    const reservation = m.reservation === undefined ? 0 : bytes(m.reservation, `${f}.reservation`);
    if (reservation > 0 && limit > 0 && !isUnlimited(limit) && !isUnlimited(reservation) && reservation > limit) {
      fail(`${f}.reservation`, `${reservation} is above memory.limit ${limit}; a reservation (soft limit) must not exceed the limit`);
    }
    const swap = m.swap === undefined ? 0 : bytes(m.swap, `${f}.swap`);
    if (swap > 0 && !isUnlimited(swap)) {
      if (limit === 0 && !opts.update) fail(`${f}.swap`, 'a swap limit needs memory.limit too (swap is memory+swap, as on cgroup v1)');
      if (limit === -1 || isUnlimited(limit)) fail(`${f}.swap`, 'a swap limit cannot go with an unlimited memory.limit');
      if (limit > 0 && swap < limit) {
        fail(`${f}.swap`, `${swap} is below memory.limit ${limit}; OCI swap is memory+swap (cgroup v1 memsw), so it must be >= the limit (equal = no swap)`);
      }
    }
    if (m.kernel !== undefined) bytes(m.kernel, `${f}.kernel`);
    if (m.kernelTCP !== undefined) bytes(m.kernelTCP, `${f}.kernelTCP`);
    if (m.swappiness !== undefined) range(m.swappiness, `${f}.swappiness`, 0, 100, false);
    if (m.disableOOMKiller !== undefined) bool(m.disableOOMKiller, `${f}.disableOOMKiller`);
    if (m.useHierarchy !== undefined) bool(m.useHierarchy, `${f}.useHierarchy`);
    if (m.checkBeforeUpdate !== undefined) bool(m.checkBeforeUpdate, `${f}.checkBeforeUpdate`);
  }
  const c = r.cpu;
  if (c !== undefined) {
    const f = `${R}.cpu`;
    if (c.shares !== undefined) range(c.shares, `${f}.shares`, 2, 262144);
    let quota = 0;
    if (c.quota !== undefined) {
      quota = int(c.quota, `${f}.quota`);
      if (quota < -1 || (quota > 0 && quota < 1000)) fail(`${f}.quota`, `${quota} is out of range (>= 1000 microseconds, -1 for unlimited, 0 for not set)`);
    }
    if (c.period !== undefined) range(c.period, `${f}.period`, 1000, 1000000);
    if (c.burst !== undefined) {
      const burst = int(c.burst, `${f}.burst`);
      if (burst < 0) fail(`${f}.burst`, `${burst} is negative`);
      if (burst > 0 && quota > 0 && burst > quota) fail(`${f}.burst`, `${burst} is above cpu.quota ${quota}; the burst must not exceed the quota`);
      if (burst > 0 && quota === -1) fail(`${f}.burst`, 'a burst needs a cpu.quota (it is unlimited)');
    }
    let rtRuntime = 0;
    if (c.realtimeRuntime !== undefined) {
      rtRuntime = int(c.realtimeRuntime, `${f}.realtimeRuntime`);
      if (rtRuntime < -1) fail(`${f}.realtimeRuntime`, `${rtRuntime} is negative; use -1 for unlimited`);
    }
    if (c.realtimePeriod !== undefined) {
      const p = int(c.realtimePeriod, `${f}.realtimePeriod`);
      if (p < 0) fail(`${f}.realtimePeriod`, `${p} is negative`);
      if (p > 0 && rtRuntime > p) fail(`${f}.realtimeRuntime`, `${rtRuntime} is above realtimePeriod ${p}`);
    }
    if (c.cpus !== undefined) idList(c.cpus, `${f}.cpus`, host?.cpus() ?? c.cpus, 'cpu');
    if (c.mems !== undefined) idList(c.mems, `${f}.mems`, host?.mems() ?? c.mems, 'memory node');
    if (c.idle !== undefined) range(c.idle, `${f}.idle`, 0, 1, false);
  }
  if (r.pids !== undefined) {
    const limit = int(r.pids.limit, `${R}.pids.limit`);
    if (limit < -1) fail(`${R}.pids.limit`, `${limit} is negative; use -1 or 0 for unlimited`);
  }
  const b = r.blockIO;
  if (b !== undefined) {
    const f = `${R}.blockIO`;
    if (b.weight !== undefined) range(b.weight, `${f}.weight`, 10, 1000);
    if (b.leafWeight !== undefined) range(b.leafWeight, `${f}.leafWeight`, 10, 1000);
    b.weightDevice?.forEach((d, i) => {
      const df = `${f}.weightDevice[${i}]`;
      device(d, df, host);
      if (d.weight === undefined && d.leafWeight === undefined) fail(df, 'needs weight or leafWeight');
      if (d.weight !== undefined) range(d.weight, `${df}.weight`, 10, 1000);
      if (d.leafWeight !== undefined) range(d.leafWeight, `${df}.leafWeight`, 10, 1000);
    });
    throttles(b.throttleReadBpsDevice, `${f}.throttleReadBpsDevice`, host);
    throttles(b.throttleWriteBpsDevice, `${f}.throttleWriteBpsDevice`, host);
    throttles(b.throttleReadIOPSDevice, `${f}.throttleReadIOPSDevice`, host);
    throttles(b.throttleWriteIOPSDevice, `${f}.throttleWriteIOPSDevice`, host);
  }
  if (r.hugepageLimits !== undefined) {
    const seen = new Set<string>();
    r.hugepageLimits.forEach((h, i) => {
      const f = `${R}.hugepageLimits[${i}]`;
      if (typeof h.pageSize !== 'string' || !/^\d+(KB|MB|GB|TB)$/.test(h.pageSize)) fail(`${f}.pageSize`, `${JSON.stringify(h.pageSize)} is not a page size like "2MB" or "1GB"`);
      const sizes = host?.hugepageSizes();
      if (sizes && !sizes.includes(h.pageSize)) fail(`${f}.pageSize`, `huge page size ${h.pageSize} is not supported by this host (it has ${sizes.join(', ') || 'none'})`);
      if (seen.has(h.pageSize)) fail(`${f}.pageSize`, `${h.pageSize} is listed twice`);
      seen.add(h.pageSize);
      bytes(h.limit, `${f}.limit`);
    });
  }
  const n = r.network;
  if (n !== undefined) {
    if (n.classID !== undefined) range(n.classID, `${R}.network.classID`, 0, 0xffffffff, false);
    n.priorities?.forEach((p, i) => {
      const f = `${R}.network.priorities[${i}]`;
      if (typeof p.name !== 'string' || !/^[^\s/]{1,15}$/.test(p.name)) fail(`${f}.name`, `${JSON.stringify(p.name)} is not an interface name`);
      range(p.priority, `${f}.priority`, 0, 0xffffffff, false);
    });
  }
  if (r.rdma !== undefined) {
    for (const [dev, lim] of Object.entries(r.rdma)) {
      const f = `${R}.rdma["${dev}"]`;
      if (!/^[\w.-]+$/.test(dev)) fail(f, 'is not an RDMA device name');
      if (lim.hcaHandles !== undefined) range(lim.hcaHandles, `${f}.hcaHandles`, 0, 0x7fffffff, false);
      if (lim.hcaObjects !== undefined) range(lim.hcaObjects, `${f}.hcaObjects`, 0, 0x7fffffff, false);
    }
  }
  if (r.unified !== undefined) {
    for (const [key, value] of Object.entries(r.unified)) {
      const f = `${R}.unified["${key}"]`;
      if (!/^[a-z0-9_]+\.[A-Za-z0-9_.-]+$/.test(key) || key.includes('..')) fail(f, 'is not a cgroup v2 file name like "memory.high"');
      if (['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.kill', 'cgroup.freeze', 'cgroup.type'].includes(key)) {
        fail(f, `${key} is managed by the runtime and cannot be set here`);
      }
      if (typeof value !== 'string') fail(f, 'the value must be a string');
    }
  }
  if (r.devices !== undefined) normalizeDeviceRules(r.devices);
}
