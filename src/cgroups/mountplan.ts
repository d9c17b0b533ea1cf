// How the container sees its cgroups at /sys/fs/cgroup (the `cgroup` mount of the spec).
//   v1/hybrid, no cgroupns: a tmpfs, then a bind of the container's own directory of each
//     hierarchy at the hierarchy's usual name (and the unified one at "unified" on hybrid), plus
//     symlinks for co-mounted controllers ("cpu" -> "cpu,cpuacct").
//   v1/hybrid, cgroupns: a tmpfs, then a fresh cgroup mount per hierarchy ("memory",
//     "cpu,cpuacct", "none,name=systemd"; cgroup2 for "unified"): the namespace root is the
//     container's cgroup.
//   v2: a bind of the container's directory, or with cgroupns a fresh cgroup2 mount.
import type { CgroupMountPlan } from './manager.js';

export interface PlanHierarchy {
  /** The hierarchy's subsystems, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  subsystems: string[];
  /** Directory name under /sys/fs/cgroup (the host mountpoint's base name). */
  name: string;
  /** Real path of the container's directory in this hierarchy. */
  source: string;
}

const join = (a: string, b: string): string => `${a.replace(/\/+$/, '')}/${b}`;

export function planV1(dest: string, hierarchies: PlanHierarchy[], unifiedSource: string | null, cgroupns: boolean): CgroupMountPlan {
  const plan: CgroupMountPlan = { tmpfs: dest, binds: [], mounts: [], symlinks: [] };
  const names = new Set(hierarchies.map((h) => h.name));
  for (const h of hierarchies) {
    const destination = join(dest, h.name);
    if (cgroupns) {
      const named = h.subsystems.length === 1 && h.subsystems[0]!.startsWith('name=');
      plan.mounts.push({ destination, fstype: 'cgroup', data: named ? `none,${h.subsystems[0]}` : h.subsystems.join(',') });
    } else {
      plan.binds.push({ source: h.source, destination });
    }
    if (h.subsystems.length > 1) {
      for (const s of h.subsystems) {
        if (!s.startsWith('name=') && s !== h.name && !names.has(s)) plan.symlinks!.push({ path: join(dest, s), target: h.name });
      }
    }
  }
  if (unifiedSource) {
    const destination = join(dest, 'unified');
    if (cgroupns) plan.mounts.push({ destination, fstype: 'cgroup2', data: '' });
    else plan.binds.push({ source: unifiedSource, destination });
  }
  return plan;
}

export function planV2(dest: string, source: string, cgroupns: boolean): CgroupMountPlan {
  if (cgroupns) return { tmpfs: null, binds: [], mounts: [{ destination: dest, fstype: 'cgroup2', data: '' }] };
  return { tmpfs: null, binds: [{ source, destination: dest }], mounts: [] };
}
