// berth's cgroup managers: pick the backend for this host's layout and hand back a
// CgroupManager for one container.
//
//   const cg = openCgroupManager(spec.linux?.cgroupsPath, id, { onWarning });
//   cg.create(spec.linux?.resources);   // then the shim writes the init pid into cg.procsFiles()
//
// Host detection (mountinfo, own cgroups, root cpuset, huge page sizes) runs once per process;
// only node:fs is imported (and node:child_process, to run berth-shim for v2 device programs).
// With `systemd: true` the container's cgroup is a transient systemd scope (systemd/manager.ts)
// and the same backend writes the limits inside it; callers that can, `await prepare()` first.
import type { DeviceProgramLoader } from './devbpf.js';
import { CgroupError, type WarningSink } from './errors.js';
import { hostFor } from './host.js';
import { HostFs } from './hostfs.js';
import { HybridManager } from './hybrid.js';
import type { BerthCgroupManager } from './manager.js';
import type { BackendOptions } from './base.js';
import { parseCgroupsPath, type CgroupPath } from './path.js';
import { SystemdManager } from './systemd/manager.js';
import { parseSystemdPath } from './systemd/unit.js';
import { V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';

export interface OpenCgroupOptions {
  /** Prefix for every host path (tests: a fake cgroupfs tree). Default: the real host. */
  root?: string;
  /** A custom file door (tests: a fake cgroupfs that acts like the kernel); overrides root. */
  fs?: HostFs;
  /** The systemd cgroup driver: cgroupsPath is "slice:prefix:name" (an error where systemd does not run). */
  systemd?: boolean;
  /** systemd driver: the D-Bus socket (default /run/systemd/private under root; tests: a fake peer). */
  systemdSocket?: string;
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
  const o = { fs, host, onWarning: opts.onWarning, devicePrograms: opts.devicePrograms, hybridDeviceBpf: opts.hybridDeviceBpf };
  if (opts.systemd) {
    if (!host.systemdRunning()) throw new CgroupError('the systemd cgroup driver was requested (--systemd-cgroup) but systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver (drop the flag)', 'linux.cgroupsPath');
    const unit = parseSystemdPath(cgroupsPath, containerId);
    const inner = backend(o, { path: unit.path, relative: false });
    return new SystemdManager(inner, unit, { fs, host, onWarning: opts.onWarning, ...(opts.systemdSocket ? { socket: opts.systemdSocket } : {}) });
  }
  return backend(o, parseCgroupsPath(cgroupsPath, containerId));
}

/** The cgroupfs backend for the host's layout. */
function backend(o: BackendOptions, p: CgroupPath): BerthCgroupManager {
  switch (o.host.cgroups.layout) {
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
export { SystemdManager, SYSTEMD_PRIVATE_SOCKET } from './systemd/manager.js';
export { parseSystemdPath, expandSlice, type SystemdUnit } from './systemd/unit.js';
