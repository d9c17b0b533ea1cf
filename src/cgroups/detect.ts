// Detection of the host's cgroup layout from /proc/self/mountinfo and of the calling process's
// own cgroups from /proc/self/cgroup. Pure parsing; host.ts reads the files once per process.
import { CgroupError } from './errors.js';
import type { CgroupLayout } from './manager.js';

/** One mounted cgroup v1 hierarchy. */
export interface V1Hierarchy {
  /** Controllers and a name= option in mount order, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  subsystems: string[];
  /** Where it is mounted, e.g. "/sys/fs/cgroup/cpu,cpuacct". */
  mountpoint: string;
  /** The cgroup of the hierarchy that is mounted there ("/" unless inside a container). */
  root: string;
}

export interface UnifiedMount {
  mountpoint: string;
  root: string;
}

export interface CgroupHost {
  layout: CgroupLayout;
  /** v1 hierarchies (empty on a v2 host), one per hierarchy, in mountinfo order. */
  v1: V1Hierarchy[];
  /** The cgroup2 mount (the whole tree on v2; /sys/fs/cgroup/unified on a hybrid host). */
  unified: UnifiedMount | null;
}

/** The v1 controllers berth knows; other options of a cgroup mount are mount flags. */
export const V1_CONTROLLERS: ReadonlySet<string> = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio',
  'perf_event', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

/** Decode the octal escapes (\040 and friends) the kernel uses in mountinfo paths. */
function unescape(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): CgroupHost {
  const v1: V1Hierarchy[] = [];
  const seen = new Map<string, number>();
  let unified: UnifiedMount | null = null;
  for (const line of text.split('\n')) {
    if (line.indexOf('cgroup') < 0) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0) continue;
    const fstype = f[sep + 1];
    const root = unescape(f[3] ?? '/');
    const mountpoint = unescape(f[4] ?? '');
    if (fstype === 'cgroup2') {
      // Prefer the canonical place, then a mount of the whole tree, then the first one.
      if (!unified || (mountpoint === '/sys/fs/cgroup' && unified.mountpoint !== '/sys/fs/cgroup') ||
          (root === '/' && unified.root !== '/' && unified.mountpoint !== '/sys/fs/cgroup')) {
        unified = { mountpoint, root };
      }
      continue;
    }
    if (fstype !== 'cgroup') continue;
    const subsystems = (f[sep + 3] ?? '').split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
    if (subsystems.length === 0) continue;
    const key = subsystems.join(',');
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, v1.length);
      v1.push({ subsystems, mountpoint, root });
    } else if (v1[at]!.root !== '/' && root === '/') {
      v1[at] = { subsystems, mountpoint, root }; // a mount of the whole hierarchy beats a bind of a subtree
    }
  }
  const controllers = v1.some((h) => h.subsystems.some((s) => !s.startsWith('name=')));
  let layout: CgroupLayout;
  if (controllers) layout = unified ? 'hybrid' : 'v1';
  else if (unified) layout = 'v2';
  else throw new CgroupError('no cgroup file system is mounted on this host (looked in /proc/self/mountinfo)');
  return { layout, v1: controllers ? v1 : [], unified };
}

/**
 * /proc/self/cgroup as a map from subsystem ("memory", "name=systemd") to the cgroup path;
 * the v2 entry ("0::/path") is under the key "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const path = line.slice(b + 1);
    const list = line.slice(a + 1, b);
    if (list === '') out.set('', path);
    else for (const s of list.split(',')) out.set(s, path);
  }
  return out;
}
