// The one interface every cgroup backend (v1, v2, hybrid) implements.
// The runtime creates the cgroup before the container's init exists; the shim then writes the
// init's pid into every file of `procsFiles()` before the init unshares its cgroup namespace.
import type { LinuxResources } from '../spec/types.js';
import type { Psi } from './parse.js';

export type CgroupLayout = 'v1' | 'v2' | 'hybrid';

/** A mount the container needs so it sees its own cgroup at /sys/fs/cgroup. */
export interface CgroupMountPlan {
  /** Mount a tmpfs at this container path first (v1/hybrid layouts), or null. */
  tmpfs: string | null;
  /** Bind mounts from a host cgroup directory to a container path, in order. */
  binds: { source: string; destination: string }[];
  /** Fresh cgroup filesystem mounts (used with a cgroup namespace), in order. */
  mounts: { destination: string; fstype: 'cgroup' | 'cgroup2'; data: string }[];
  /** Symlinks to create last (co-mounted v1 hierarchies: "<dest>/cpu" -> "cpu,cpuacct"). */
  symlinks?: { path: string; target: string }[];
}

export interface CgroupStats {
  memory?: { usage: number; limit: number; maxUsage?: number; failcnt?: number; oomKills?: number };
  cpu?: { usageNs: number; userNs?: number; systemNs?: number; throttledPeriods?: number; throttledNs?: number };
  pids?: { current: number; limit?: number };
  blkio?: { readBytes: number; writeBytes: number };
  /** Pressure stall information (v2, and hybrid through the unified hierarchy). */
  pressure?: { cpu?: Psi; memory?: Psi; io?: Psi };
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** The container's cgroup path relative to each hierarchy root, e.g. "/berth/abc". */
  readonly path: string;
  /** Create the directories and apply the resources. Throws CgroupError; leaves nothing on failure. */
  create(resources: LinuxResources | undefined): void;
  /** Files the shim writes the container's pid into (cgroup.procs of each hierarchy). */
  procsFiles(): string[];
  /** Apply new resources to a live cgroup (berth-oci update). */
  update(resources: LinuxResources): void;
  /** Every pid in the cgroup (all hierarchies merged). */
  pids(): number[];
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** Signal every process in the cgroup (cgroup.kill for SIGKILL where present). */
  kill(signal: NodeJS.Signals | number): void;
  /** Remove every directory this manager created; processes must be gone. */
  destroy(): void;
  stats(): CgroupStats;
  /** What to mount inside the container for a `cgroup` mount at `destination`. */
  mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan;
  /**
   * Called once the container's init is in the cgroup (the systemd driver then ends the
   * placeholder process its scope needed until then).
   */
  joined?(): void;
  /** Async set-up before the synchronous calls (the systemd driver connects to systemd). */
  prepare?(): Promise<void>;
}

/** What berth's own managers offer beyond CgroupManager. */
export interface BerthCgroupManager extends CgroupManager {
  /** Warnings about settings accepted but not (fully) enforced, in the order they were raised. */
  readonly warnings: readonly string[];
  /** Host directory of the container's cgroup per subsystem ("memory", "cpu", ..., "unified"). */
  dirs(): Record<string, string>;
  /** OOM kills in the cgroup so far (one small file read; see oomEvents). */
  oomKillCount(): number;
}
