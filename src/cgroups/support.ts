// What berth does with each linux.resources field on each layout: the one place that decides
// between enforcing, failing and warning. A limit the host cannot enforce is never dropped
// silently.
//
//   file name = enforced by writing that file      ERROR = create()/update() throws a CgroupError
//   WARN = accepted, reported through onWarning, not (fully) enforced
// A field whose controller is not mounted (v1) or not in the root's cgroup.controllers (v2) is an
// ERROR. Rows marked (file) are decided by the controller module after mkdir, because the file
// exists only below the root; everything else is decided here, before anything is created.
//
// field                    | v1, and hybrid                               | v2
// -------------------------+----------------------------------------------+---------------------------------------
// memory.limit             | memory.limit_in_bytes                        | memory.max
// memory.reservation       | memory.soft_limit_in_bytes                   | memory.low
// memory.swap (mem+swap)   | memory.memsw.limit_in_bytes; ERROR if absent | memory.swap.max = swap - limit; ERROR
//                          | (swapaccount=0) (file)                       | if absent (file)
// memory.kernel            | memory.kmem.limit_in_bytes; WARN when absent | WARN (no v2 equivalent)
//                          | or the value does not stick (file; on this   |
//                          | kernel: writes are accepted, no effect)      |
// memory.kernelTCP         | memory.kmem.tcp.limit_in_bytes; WARN as above| WARN (no v2 equivalent)
// memory.swappiness        | memory.swappiness                            | WARN (no per-cgroup swappiness on v2)
// memory.disableOOMKiller  | memory.oom_control = 1                       | ERROR when true
// memory.useHierarchy      | memory.use_hierarchy; false: WARN when the   | true: nothing; false: WARN (always
//                          | kernel refuses (always on since Linux 5.x)   | hierarchical)
// memory.checkBeforeUpdate | update(): ERROR if the new limit < usage     | same, with memory.current
// cpu.shares               | cpu.shares                                   | cpu.weight = 1+((shares-2)*9999)/262142
// cpu.quota, cpu.period    | cpu.cfs_quota_us, cpu.cfs_period_us          | cpu.max "quota period"
// cpu.burst                | cpu.cfs_burst_us; ERROR if absent (file)     | cpu.max.burst; ERROR if absent (file)
// cpu.realtimeRuntime/-Per.| cpu.rt_runtime_us, cpu.rt_period_us; ERROR   | ERROR (no RT group scheduling on v2)
//                          | if absent (RT_GROUP_SCHED=n) (file)          |
// cpu.cpus, cpu.mems       | cpuset.cpus, cpuset.mems                     | cpuset.cpus, cpuset.mems
// cpu.idle                 | cpu.idle; ERROR if absent (file)             | cpu.idle; ERROR if absent (file)
// pids.limit (-1/0 = max)  | pids.max                                     | pids.max
// blockIO.weight           | blkio.bfq.weight, else blkio.weight; ERROR if| io.bfq.weight, else io.weight
//                          | neither (file); WARN when no block device    | (converted 10..1000 -> 1..10000)
//                          | uses the bfq scheduler (this host: none)     |
// blockIO.leafWeight       | blkio.leaf_weight; ERROR if absent (file;    | ERROR (no leaf weights on v2)
//                          | CFQ only, removed in Linux 5.0)              |
// blockIO.weightDevice     | blkio.bfq.weight_device / blkio.weight_device| io.bfq.weight, else io.weight
// blockIO.throttle*        | blkio.throttle.{read,write}_{bps,iops}_device| io.max (rbps, wbps, riops, wiops)
// hugepageLimits           | hugetlb.<size>.limit_in_bytes; on hybrid     | hugetlb.<size>.max
//                          | without v1 hugetlb: hugetlb.<size>.max in the|
//                          | unified hierarchy (this host)                |
// devices                  | devices.deny "a", then devices.allow/deny    | an eBPF device program attached to the
//                          | per rule (minimal diff on update); hybrid    | cgroup (berth-shim devices-bpf; v1
//                          | with hybridDeviceBpf: also the v2 program    | semantics; update: new one attached,
//                          | on the unified-hierarchy cgroup              | then the old one detached)
// network.classID          | net_cls.classid; ERROR if not mounted (here) | ERROR (no net_cls on v2)
// network.priorities       | net_prio.ifpriomap; ERROR if not mounted     | ERROR (no net_prio on v2)
// rdma                     | rdma.max; ERROR if not mounted (here)        | rdma.max
// unified                  | v1: ERROR; hybrid: only "cgroup.*" keys and  | any key; ERROR if the file is absent
//                          | the unified hierarchy's controllers (here:   | (file)
//                          | hugetlb)                                     |
import type { LinuxResources } from '../spec/types.js';
import { CgroupError, type WarningSink } from './errors.js';
import type { CgroupLayout } from './manager.js';

const R = 'linux.resources';

export interface Support {
  layout: CgroupLayout;
  /** v1/hybrid: controllers mounted as v1 hierarchies; v2: the v2 root's cgroup.controllers. */
  controllers: ReadonlySet<string>;
  /** hybrid: controllers of the unified hierarchy; empty otherwise. */
  unifiedControllers: ReadonlySet<string>;
}

const set = (v: number | undefined): boolean => v !== undefined && v !== 0;

/**
 * The controllers the given resources need, each with the first field that needs it, in the
 * naming of the layout (v1: "blkio", "net_cls"; v2: "io").
 */
export function requiredControllers(r: LinuxResources, v2: boolean): Map<string, string> {
  const need = new Map<string, string>();
  const add = (c: string, field: string): void => {
    if (!need.has(c)) need.set(c, `${R}.${field}`);
  };
  const m = r.memory;
  if (m) {
    for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) if (set(m[k])) add('memory', `memory.${k}`);
    if (m.swappiness !== undefined) add('memory', 'memory.swappiness');
    if (m.disableOOMKiller) add('memory', 'memory.disableOOMKiller');
  }
  const c = r.cpu;
  if (c) {
    for (const k of ['shares', 'quota', 'period', 'burst', 'realtimeRuntime', 'realtimePeriod'] as const) if (set(c[k])) add('cpu', `cpu.${k}`);
    if (c.idle !== undefined) add('cpu', 'cpu.idle');
    if (c.cpus) add('cpuset', 'cpu.cpus');
    if (c.mems) add('cpuset', 'cpu.mems');
  }
  if (r.pids && r.pids.limit > 0) add('pids', 'pids.limit');
  const b = r.blockIO;
  if (b) {
    const io = v2 ? 'io' : 'blkio';
    if (set(b.weight)) add(io, 'blockIO.weight');
    if (set(b.leafWeight)) add(io, 'blockIO.leafWeight');
    for (const k of ['weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
      if (b[k]?.length) add(io, `blockIO.${k}`);
    }
  }
  if (r.hugepageLimits?.length) add('hugetlb', 'hugepageLimits');
  if (r.rdma && Object.keys(r.rdma).length) add('rdma', 'rdma');
  if (!v2) {
    if (r.network?.classID !== undefined) add('net_cls', 'network.classID');
    if (r.network?.priorities?.length) add('net_prio', 'network.priorities');
    if (r.devices) add('devices', 'devices');
  }
  if (v2 && r.unified) {
    for (const key of Object.keys(r.unified)) {
      const ctl = key.slice(0, key.indexOf('.'));
      if (ctl !== 'cgroup') add(ctl, `unified["${key}"]`);
    }
  }
  return need;
}

function fail(field: string, msg: string): never {
  throw new CgroupError(msg, field);
}

/** Throws for what cannot be enforced on this layout; warns for what the spec lets us ignore. */
export function checkSupport(r: LinuxResources, s: Support, warn: WarningSink): void {
  const v2 = s.layout === 'v2';
  for (const [ctl, field] of requiredControllers(r, v2)) {
    if (s.controllers.has(ctl)) continue;
    if (ctl === 'hugetlb' && s.layout === 'hybrid' && s.unifiedControllers.has('hugetlb')) continue;
    const where = v2 ? 'enabled in the cgroup v2 root (cgroup.controllers)' : 'mounted as a cgroup v1 hierarchy';
    fail(field, `the ${ctl} controller is not ${where} on this host, so this limit cannot be enforced; remove it or enable the controller`);
  }
  const m = r.memory;
  const c = r.cpu;
  if (v2) {
    if (set(m?.kernel)) warn(`${R}.memory.kernel: kernel memory cannot be limited separately on cgroup v2 (it is part of memory.max); ignored`);
    if (set(m?.kernelTCP)) warn(`${R}.memory.kernelTCP: TCP buffer memory cannot be limited separately on cgroup v2 (it is part of memory.max); ignored`);
    if (m?.swappiness !== undefined) warn(`${R}.memory.swappiness: cgroup v2 has no per-cgroup swappiness; ignored`);
    if (m?.disableOOMKiller) fail(`${R}.memory.disableOOMKiller`, 'cgroup v2 cannot disable the OOM killer for a cgroup; remove the setting');
    if (set(c?.realtimeRuntime) || set(c?.realtimePeriod)) {
      fail(`${R}.cpu.${set(c?.realtimeRuntime) ? 'realtimeRuntime' : 'realtimePeriod'}`, 'cgroup v2 has no real-time group scheduling; remove the setting');
    }
    if (set(r.blockIO?.leafWeight) || r.blockIO?.weightDevice?.some((d) => set(d.leafWeight))) {
      fail(`${R}.blockIO.leafWeight`, 'cgroup v2 has no leaf weights; use weight');
    }
    if (r.network?.classID !== undefined) fail(`${R}.network.classID`, 'cgroup v2 has no net_cls controller; classify traffic with an eBPF or nftables cgroup match instead');
    if (r.network?.priorities?.length) fail(`${R}.network.priorities`, 'cgroup v2 has no net_prio controller');
  } else {
    if (r.unified && Object.keys(r.unified).length) {
      if (s.layout === 'v1') fail(`${R}.unified`, 'this host has no cgroup v2 hierarchy; unified settings need cgroup v2');
      for (const key of Object.keys(r.unified)) {
        const ctl = key.slice(0, key.indexOf('.'));
        if (ctl !== 'cgroup' && !s.unifiedControllers.has(ctl)) {
          const have = [...s.unifiedControllers].join(', ') || 'none';
          fail(`${R}.unified["${key}"]`, `the ${ctl} controller is not in the cgroup v2 hierarchy of this hybrid host (it has: ${have}); use the linux.resources fields instead`);
        }
      }
    }
  }
  if (v2 && m?.useHierarchy === false) warn(`${R}.memory.useHierarchy: cgroup v2 memory accounting is always hierarchical; false is ignored`);
}
