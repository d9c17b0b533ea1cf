// Resource control of a live container: pause/resume (freezer), update (new limits applied
// through the cgroup manager and written into the stored spec), stats and the event stream
// (`berth-oci pause|resume|update|events`). Everything goes through Runtime.statusOf, so the
// status rules (stopped / created / paused / running) are the runtime's.
import { withDefaultDeviceRules } from '../cgroups/devices.js';
import type { BerthCgroupManager } from '../cgroups/manager.js';
import { validateResources } from '../cgroups/validate.js';
import type { LinuxBlockIO, LinuxHugepageLimit, LinuxResources, LinuxThrottleDevice, LinuxWeightDevice } from '../spec/types.js';
import { RuntimeError } from './errors.js';
import type { Runtime } from './runtime.js';
import type { ContainerRecord } from './state.js';
import { runcStats, statsJson, type RuncStats } from './stats.js';

async function open(rt: Runtime, id: string, verb: string) {
  const { rec, status, mgr } = await rt.statusOf(id);
  const need = (): BerthCgroupManager => {
    if (!mgr) throw new RuntimeError(`cannot ${verb} container "${id}": it has no cgroup of its own (rootless without cgroups)`);
    return mgr as BerthCgroupManager;
  };
  return { rec, status, need };
}

/** Freezes every process of a running (or created) container, as `runc pause`. */
export async function pause(rt: Runtime, id: string): Promise<void> {
  const { status, need } = await open(rt, id, 'pause');
  if (status === 'paused') throw new RuntimeError(`cannot pause container "${id}": container already paused`);
  if (status !== 'running' && status !== 'created') throw new RuntimeError(`cannot pause container "${id}": container not running (it is ${status})`);
  need().freeze();
}

/** Thaws a paused container, as `runc resume`. */
export async function resume(rt: Runtime, id: string): Promise<void> {
  const { status, need } = await open(rt, id, 'resume');
  if (status !== 'paused') throw new RuntimeError(`cannot resume container "${id}": container not paused (it is ${status})`);
  need().thaw();
}

// ---------------------------------------------------------------------------------------------
// update

type Obj = Record<string, unknown>;

/** Drops the fields whose zero value means "leave unchanged" (runc's update semantics). */
function dropUnset<T extends object>(o: T | undefined, zeroKeys: readonly string[], emptyKeys: readonly string[] = []): T | undefined {
  if (!o) return undefined;
  const out: Obj = { ...(o as Obj) };
  for (const k of zeroKeys) if (out[k] === 0 || out[k] === undefined) delete out[k];
  for (const k of emptyKeys) if (out[k] === '' || out[k] === undefined) delete out[k];
  return Object.keys(out).length ? (out as T) : undefined;
}

const devKey = (d: { major: number; minor: number }): string => `${d.major}:${d.minor}`;

function mergeByDevice<T extends { major: number; minor: number }>(old: T[] | undefined, add: T[] | undefined, keep: (t: T) => boolean): T[] | undefined {
  if (!add) return old;
  const m = new Map<string, T>();
  for (const t of old ?? []) m.set(devKey(t), t);
  for (const t of add) m.set(devKey(t), t);
  const out = [...m.values()].filter(keep);
  return out.length ? out : undefined;
}

const THROTTLES = ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;

/** The changes an update asks for, without "unchanged" markers. */
export function updateDelta(r: LinuxResources): LinuxResources {
  const d: LinuxResources = {};
  const mem = dropUnset(r.memory, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']);
  if (mem) d.memory = mem;
  const cpu = dropUnset(r.cpu, ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod'], ['cpus', 'mems']);
  if (cpu) d.cpu = cpu;
  if (r.pids && r.pids.limit !== 0) d.pids = { limit: r.pids.limit };
  const bio = dropUnset(r.blockIO, ['weight', 'leafWeight']);
  if (bio) {
    for (const k of ['weightDevice', ...THROTTLES] as const) if (Array.isArray(bio[k]) && bio[k]!.length === 0) delete bio[k];
    if (Object.keys(bio).length) d.blockIO = bio;
  }
  if (r.hugepageLimits?.length) d.hugepageLimits = r.hugepageLimits;
  if (r.network && Object.keys(r.network).length) d.network = r.network;
  if (r.rdma && Object.keys(r.rdma).length) d.rdma = r.rdma;
  if (r.unified && Object.keys(r.unified).length) d.unified = r.unified;
  if (r.devices) d.devices = r.devices;
  return d;
}

/** The resources in force after applying `d` (a delta from updateDelta) on top of `old`. */
export function mergeResources(old: LinuxResources | undefined, d: LinuxResources): LinuxResources {
  const o = old ?? {};
  const out: LinuxResources = structuredClone(o);
  if (d.memory) out.memory = { ...o.memory, ...d.memory };
  if (d.cpu) out.cpu = { ...o.cpu, ...d.cpu };
  if (d.pids) out.pids = { ...d.pids };
  if (d.blockIO) {
    const b: LinuxBlockIO = { ...o.blockIO, ...d.blockIO };
    b.weightDevice = mergeByDevice<LinuxWeightDevice>(o.blockIO?.weightDevice, d.blockIO.weightDevice, (w) => !!(w.weight || w.leafWeight));
    // a rate of 0 removes the device's limit
    for (const k of THROTTLES) b[k] = mergeByDevice<LinuxThrottleDevice>(o.blockIO?.[k], d.blockIO[k], (t) => t.rate > 0);
    for (const k of ['weightDevice', ...THROTTLES] as const) if (b[k] === undefined) delete b[k];
    out.blockIO = b;
  }
  if (d.hugepageLimits) {
    const m = new Map<string, LinuxHugepageLimit>();
    for (const h of [...(o.hugepageLimits ?? []), ...d.hugepageLimits]) m.set(h.pageSize, h);
    out.hugepageLimits = [...m.values()];
  }
  if (d.network) out.network = { ...o.network, ...d.network };
  if (d.rdma) out.rdma = { ...o.rdma, ...d.rdma };
  if (d.unified) out.unified = { ...o.unified, ...d.unified };
  if (d.devices) out.devices = d.devices;
  return out;
}

export interface UpdateResult {
  /** The resources now in force (as stored in the container's spec). */
  resources: LinuxResources;
  /** Warnings of the cgroup manager about settings accepted but not (fully) enforced. */
  warnings: string[];
}

/**
 * Applies new limits to a live container and stores them in its spec. `changes` follows runc:
 * a field left out, 0 or "" leaves the value in force. A memory limit raised without a swap
 * value keeps "no swap" when that was configured (swap equal to the limit).
 */
export async function update(rt: Runtime, id: string, changes: LinuxResources): Promise<UpdateResult> {
  const { rec, status, need } = await open(rt, id, 'update');
  if (status === 'stopped') throw new RuntimeError(`cannot update container "${id}": container not running (it is stopped)`);
  const mgr = need();
  const old = rec.spec.linux?.resources;
  const d = updateDelta(changes);
  const oldMem = old?.memory;
  if (d.memory?.limit !== undefined && d.memory.swap === undefined && oldMem?.limit && oldMem.limit > 0 && oldMem.swap === oldMem.limit) {
    d.memory.swap = d.memory.limit;
  }
  const merged = mergeResources(old, d);
  // Cross-field rules (swap >= limit, reservation <= limit, burst <= quota) on what will be in
  // force; host facts (cpus, devices) are checked by the manager on the delta.
  validateResources(merged, undefined);
  if (Object.keys(d).length === 0) return { resources: merged, warnings: [] };
  const before = mgr.warnings.length;
  const apply: LinuxResources = d.devices ? { ...d, devices: withDefaultDeviceRules(d.devices, rec.spec.linux?.devices ?? []) } : d;
  mgr.update(apply);
  persist(rt, rec, merged);
  return { resources: merged, warnings: mgr.warnings.slice(before) };
}

function persist(rt: Runtime, rec: ContainerRecord, resources: LinuxResources): void {
  // re-read: another berth-oci may have written the record meanwhile (it only adds the pid)
  let cur: ContainerRecord;
  try {
    cur = rt.store.load(rec.id);
  } catch {
    cur = rec;
  }
  cur.spec.linux = { ...cur.spec.linux, resources };
  rt.store.write(cur);
}

// ---------------------------------------------------------------------------------------------
// stats and events

export interface StatsEvent {
  type: 'stats';
  id: string;
  data: RuncStats;
}

export interface OomEventLine {
  type: 'oom';
  id: string;
}

export type ContainerEvent = StatsEvent | OomEventLine;

function statsOf(id: string, mgr: BerthCgroupManager): StatsEvent {
  return { type: 'stats', id, data: runcStats(mgr.layout, mgr.dirs()) };
}

/** One stats event (`events --stats`). */
export async function stats(rt: Runtime, id: string): Promise<StatsEvent> {
  const { status, need } = await open(rt, id, 'get the stats of');
  if (status === 'stopped') throw new RuntimeError(`container with id ${id} is not running`);
  return statsOf(id, need());
}

export interface WatchOptions {
  /** Stats interval in ms (runc's default: 5 s). */
  intervalMs?: number;
  /** How often the OOM counter and the status are checked, in ms. */
  pollMs?: number;
  onEvent(e: ContainerEvent): void;
  /** Stops the stream early (e.g. on SIGINT). */
  signal?: AbortSignal;
}

/**
 * Streams stats every interval and an "oom" event per OOM kill, until the container stops (or
 * is deleted). Resolves when the stream ends.
 */
export async function watch(rt: Runtime, id: string, o: WatchOptions): Promise<void> {
  const { status, need } = await open(rt, id, 'watch');
  if (status === 'stopped') throw new RuntimeError(`container with id ${id} is not running`);
  const mgr = need();
  const interval = o.intervalMs ?? 5000;
  const poll = Math.min(o.pollMs ?? 100, interval);
  let ooms = mgr.oomKillCount();
  const checkOom = (): void => {
    let now: number;
    try {
      now = mgr.oomKillCount();
    } catch {
      return;
    }
    for (; ooms < now; ooms++) o.onEvent({ type: 'oom', id });
  };
  const stopped = async (): Promise<boolean> => {
    try {
      return (await rt.statusOf(id)).status === 'stopped';
    } catch {
      return true; // deleted
    }
  };
  let nextStats = Date.now() + interval;
  for (;;) {
    if (o.signal?.aborted) return;
    checkOom();
    if (await stopped()) {
      checkOom();
      return;
    }
    if (Date.now() >= nextStats) {
      nextStats += interval;
      if (nextStats < Date.now()) nextStats = Date.now() + interval;
      try {
        o.onEvent(statsOf(id, mgr));
      } catch {
        /* the cgroup went away between the status check and the read */
      }
    }
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(poll, nextStats - Date.now()))));
  }
}

export { statsJson };
