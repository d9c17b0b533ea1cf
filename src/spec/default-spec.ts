// The example config.json `berth-oci spec` writes: the same as `runc spec` (and, with rootless,
// `runc spec --rootless`), with berth's hostname. It passes parseSpec().

import { statfsSync } from 'node:fs';

import { OCI_VERSION, type LinuxNamespace, type Mount, type Spec } from './types.js';

export interface DefaultSpecOptions {
  /** Produce a spec for an unprivileged user, like `runc spec --rootless`. */
  rootless?: boolean;
  /** The command to run; default ["sh"]. */
  args?: string[];
  /** Add a cgroup namespace; default: whether /sys/fs/cgroup is cgroup v2 (as runc decides). */
  cgroupNamespace?: boolean;
  /** Host uid/gid mapped to container root when rootless; default: the effective uid/gid. */
  hostUid?: number;
  hostGid?: number;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** True if /sys/fs/cgroup is a cgroup v2 (unified) mount. */
export function isCgroup2UnifiedMode(): boolean {
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
]);

export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/** A fresh example spec; each call returns new objects, so callers may modify the result. */
export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const namespaces: LinuxNamespace[] = [
    { type: 'pid' },
    { type: 'network' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (opts.cgroupNamespace ?? isCgroup2UnifiedMode()) namespaces.push({ type: 'cgroup' });

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: opts.args && opts.args.length > 0 ? [...opts.args] : ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  if (opts.rootless) toRootless(spec, opts);
  return spec;
}

/**
 * Turn a spec into one an unprivileged user can run, as `runc spec --rootless` does: a user
 * namespace mapping the caller to root, no network namespace (it could not be configured), /sys
 * bind-mounted from the host (sysfs cannot be mounted without owning the network namespace), no
 * cgroup mount (the /sys rbind brings the host's /sys/fs/cgroup), no uid=/gid= mount options (ids
 * other than root are unmapped) and no cgroup device rules.
 */
export function toRootless(spec: Spec, opts: Pick<DefaultSpecOptions, 'hostUid' | 'hostGid'> = {}): Spec {
  const linux = (spec.linux ??= {});
  linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network' && n.type !== 'user');
  linux.namespaces.push({ type: 'user' });
  const uid = opts.hostUid ?? process.geteuid?.() ?? 0;
  const gid = opts.hostGid ?? process.getegid?.() ?? 0;
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];

  const mounts: Mount[] = [];
  for (const m of spec.mounts ?? []) {
    const dest = m.destination.replace(/\/+$/, '') || '/';
    if (dest === '/sys') {
      mounts.push({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
      continue;
    }
    if (dest === '/sys/fs/cgroup' && m.type === 'cgroup') continue;
    const out: Mount = { ...m };
    if (m.options) {
      out.options = m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    }
    mounts.push(out);
  }
  spec.mounts = mounts;
  delete linux.resources;
  return spec;
}
