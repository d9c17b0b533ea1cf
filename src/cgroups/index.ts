// berth's cgroup managers: pick the backend for this host's layout and hand back a
// CgroupManager for one container.
//
//   const cg = openCgroupManager(spec.linux?.cgroupsPath, id, { onWarning });
//   cg.create(spec.linux?.resources);   // then the shim writes the init pid into cg.procsFiles()
//
// Host detection (mountinfo, own cgroups, root cpuset, huge page sizes) runs once per process;
// only node:fs is imported (and node:child_process, to run berth-shim for v2 device programs).
import type { DeviceProgramLoader } from './devbpf.js';
import { CgroupError, type WarningSink } from './errors.js';
import { hostFor } from './host.js';
import { HostFs } from './hostfs.js';
import { HybridManager } from './hybrid.js';
import type { BerthCgroupManager } from './manager.js';
import { parseCgroupsPath } from './path.js';
import { V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';

export interface OpenCgroupOptions {
  /** Prefix for every host path (tests: a fake cgroupfs tree). Default: the real host. */
  root?: string;
  /** A custom file door (tests: a fake cgroupfs that acts like the kernel); overrides root. */
  fs?: HostFs;
  /** The systemd cgroup driver (not implemented; an error explains). */
  systemd?: boolean;
  /** Receives warnings about settings accepted but not (fully) enforced. */
  onWarning?: WarningSink;
  /**
   * Attaches the eBPF device programs that enforce device rules on cgroup v2 (default: run
   * `berth-shim devices-bpf`; tests of a fake cgroupfs pass their own).
   */
  devicePrograms?: DeviceProgramLoader;
  /**
   * hybrid: also attach the device program to the container's unified-hierarchy cgroup (the
   * kernel runs it in addition to the v1 devices controller). Default false.
   */
  hybridDeviceBpf?: boolean;
}

export function openCgroupManager(cgroupsPath: string | undefined, containerId: string, opts: OpenCgroupOptions = {}): BerthCgroupManager {
  const fs = opts.fs ?? new HostFs(opts.root ?? '');
  const host = hostFor(fs);
  if (opts.systemd) {
    if (!host.systemdRunning()) throw new CgroupError('systemd cgroup driver requested but systemd is not running on this host', 'linux.cgroupsPath');
    throw new CgroupError('the systemd cgroup driver is not implemented in berth yet; use the cgroupfs driver (no --systemd-cgroup)', 'linux.cgroupsPath');
  }
  const p = parseCgroupsPath(cgroupsPath, containerId);
  const o = { fs, host, onWarning: opts.onWarning, devicePrograms: opts.devicePrograms, hybridDeviceBpf: opts.hybridDeviceBpf };
  switch (host.cgroups.layout) {
    case 'v2':
      return new V2Manager(o, p);
    case 'hybrid':
      return new HybridManager(o, p);
    case 'v1':
      return new V1Manager(o, p);
  }
}

/** The cgroup layout of this host ("v1", "v2" or "hybrid"), detected once per process. */
export function cgroupLayout(opts: { root?: string } = {}): 'v1' | 'v2' | 'hybrid' {
  return hostFor(new HostFs(opts.root ?? '')).cgroups.layout;
}

export type { BerthCgroupManager, CgroupLayout, CgroupManager, CgroupMountPlan, CgroupStats } from './manager.js';
export { CgroupError, isCgroupError, type WarningSink } from './errors.js';
export { oomEvents, type OomEvent, type OomWatch } from './oom.js';
export { DEFAULT_DEVICE_RULES, withDefaultDeviceRules } from './devices.js';
export { compileDeviceRules, type DeviceProgram } from './v2/device-bpf.js';
export { shimDeviceProgramLoader, type DeviceProgramLoader } from './devbpf.js';
export { sharesToWeight, blkioWeightToIoWeight } from './convert.js';
export { clearHostCache } from './host.js';
export { HostFs } from './hostfs.js';
