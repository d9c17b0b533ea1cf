// Compiles a validated OCI spec into the launch plan berth-shim executes (see plan.ts).
// Everything decided about a container's start is decided here, in testable TypeScript.
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { CgroupMountPlan } from '../cgroups/manager.js';
import { capabilityMask } from '../spec/capabilities.js';
import type { Hook, IDMapping, LinuxCapabilities, LinuxNamespace, LinuxPersonality, Mount, Process, Spec } from '../spec/types.js';
import { compileProcessExtras } from './process-extras.js';
import { RuntimeError } from './errors.js';
import { parseMountOptions } from './mount-options.js';
import { MS, type PlanOp } from './plan.js';
import { compileRlimits } from './rlimits.js';

export interface SeccompLoad {
  file: string;
  flags: number;
  listenerPath?: string;
  listenerMetadata?: string;
  /** The JSON sent to the listener with the notify fd (seccomp-listener.ts); PID_MARK = host pid. */
  listenerState?: string;
}

export interface CgroupHooks {
  procsFiles: string[];
  mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan;
}

export interface CreatePlanInput {
  spec: Spec;
  bundle: string;
  /** wait: the shim stays and returns the status (run); detach: the shim leaves (create). */
  mode: 'wait' | 'detach';
  /** create: the init blocks on this fifo until `start`. */
  execFifo?: string;
  consoleSocket?: string;
  consoleProxy?: boolean;
  noPivot?: boolean;
  /** Keep the caller's session keyring (--no-new-keyring); otherwise join a new one by this name. */
  noNewKeyring?: boolean;
  keyringName?: string;
  preserveFds?: number;
  cgroup?: CgroupHooks;
  seccomp?: SeccompLoad;
  /** Bind sources of a user-namespaced container are cloned by the (host root) parent; default:
   * when running as root (open_tree(OPEN_TREE_CLONE) needs CAP_SYS_ADMIN, rootless has not). */
  cloneBindSources?: boolean;
  /** Mount the rootfs idmapped with the container's mappings (idmap-rootfs.ts). */
  idmapRootfs?: boolean;
  /** The rootfs to use instead of root.path (a chown-shifted copy, rootfs-shift.ts). */
  rootfsOverride?: string;
  /** Use newuidmap/newgidmap (unprivileged caller with several mapped ids). */
  idmapTools?: { uid?: string; gid?: string; setgroupsDeny: boolean };
}

export const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
] as const;

const DEV_SYMLINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export function idMapText(maps: readonly IDMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function hookOp(h: Hook): PlanOp {
  const args = h.args ?? [];
  const env = h.env ?? [];
  return ['HOOK', h.path, h.timeout ?? 0, args.length, ...args, env.length, ...env];
}

export function hasHooksNeedingSync(spec: Spec): boolean {
  const h = spec.hooks;
  return !!(h && (h.prestart?.length || h.createRuntime?.length || h.createContainer?.length || h.startContainer?.length));
}

function nsTypes(spec: Spec): Map<string, LinuxNamespace> {
  const m = new Map<string, LinuxNamespace>();
  for (const ns of spec.linux?.namespaces ?? []) m.set(ns.type, ns);
  return m;
}

/** The identity, capability and exec tail shared by container init and exec processes. */
function processTail(p: Process, ops: PlanOp[], opts: { personality?: LinuxPersonality; seccomp?: SeccompLoad; waitStart?: boolean; startHooks?: Hook[]; preserveFds?: number; setgroups: boolean }): void {
  if (p.rlimits?.length) for (const [res, soft, hard] of compileRlimits(p.rlimits)) ops.push(['RLIMIT', res, soft, hard]);
  ops.push(...compileProcessExtras(p, opts.personality));
  ops.push(['CHDIR', p.cwd]);
  if (p.user.umask !== undefined) ops.push(['UMASK', p.user.umask]);
  const seccompOp = (): PlanOp => {
    const s = opts.seccomp!;
    if (s.listenerPath && !s.listenerState) throw new RuntimeError('internal: seccomp listener without its state message');
    return ['SECCOMP', s.file, s.flags, s.listenerPath ?? '', s.listenerPath ? s.listenerState! : ''];
  };
  const nnp = p.noNewPrivileges === true;
  // Without no_new_privs the filter must be loaded while we still hold CAP_SYS_ADMIN.
  if (opts.seccomp && !nnp) ops.push(seccompOp());
  const caps: LinuxCapabilities | undefined = p.capabilities;
  if (caps) ops.push(['CAPBSET', '0x' + capabilityMask(caps.bounding ?? []).toString(16)]);
  const groups = opts.setgroups ? (p.user.additionalGids ?? []) : [];
  ops.push(['USER', p.user.uid, p.user.gid, ...groups]);
  if (caps) {
    const hex = (names: string[] | undefined) => '0x' + capabilityMask(names ?? []).toString(16);
    ops.push(['CAPSET', hex(caps.effective), hex(caps.permitted), hex(caps.inheritable)]);
    if (caps.ambient?.length) ops.push(['AMBIENT', hex(caps.ambient)]);
  }
  if (nnp) ops.push(['NO_NEW_PRIVS']);
  for (const e of p.env ?? []) ops.push(['ENV', e]);
  const args = p.args ?? [];
  if (args.length === 0) throw new RuntimeError('config.json: process.args: must name the program to run');
  ops.push(['LOOKUP', args[0]!]);
  ops.push(['READY']);
  if (opts.waitStart) ops.push(['WAIT_START']);
  for (const h of opts.startHooks ?? []) ops.push(hookOp(h));
  if (opts.seccomp && nnp) ops.push(seccompOp());
  if (opts.preserveFds) ops.push(['PRESERVE_FDS', opts.preserveFds]);
  ops.push(['EXEC', ...args]);
}

export function rootfsPath(spec: Spec, bundle: string): string {
  const p = spec.root?.path;
  if (!p) throw new RuntimeError('config.json: root.path: required (the container root filesystem)');
  return isAbsolute(p) ? p : resolve(bundle, p);
}

function sourceKind(source: string, i: number): 'd' | 'f' {
  try {
    return statSync(source).isDirectory() ? 'd' : 'f';
  } catch {
    throw new RuntimeError(`config.json: mounts[${i}].source: "${source}" does not exist on the host; create it or fix the path`);
  }
}

function compileMounts(spec: Spec, bundle: string, input: CreatePlanInput, userns: boolean, netns: boolean, cgroupns: boolean, ops: PlanOp[], parentOps: PlanOp[], firstTree: number): void {
  const mounts: Mount[] = spec.mounts ?? [];
  let trees = firstTree;
  mounts.forEach((m, i) => {
    const o = parseMountOptions(m.options, m.type);
    const dst = m.destination;
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      if (!input.cgroup) return; // no cgroup of our own (rootless without delegation): nothing to show
      const plan = input.cgroup.mountPlan(dst, cgroupns);
      const ro = o.flags & MS.RDONLY;
      const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
      if (plan.tmpfs) ops.push(['MOUNT', 'tmpfs', plan.tmpfs, 'tmpfs', base, 'mode=755', 'd', 0, 0, 0, 0, '']);
      for (const b of plan.binds) ops.push(['MOUNT', b.source, b.destination, '', MS.BIND | MS.REC, '', 'd', base | ro, 0, 0, 0, '']);
      for (const c of plan.mounts) ops.push(['MOUNT', c.fstype, c.destination, c.fstype, base | ro, c.data, 'd', 0, 0, 0, 0, '']);
      if (plan.tmpfs && ro) ops.push(['MOUNT', '', plan.tmpfs, '', MS.REMOUNT | base | ro, '', 'd', 0, 0, 0, 0, '']);
      return;
    }
    if (o.bind) {
      if (!m.source) throw new RuntimeError(`config.json: mounts[${i}].source: a bind mount needs a source`);
      const src = isAbsolute(m.source) ? m.source : resolve(bundle, m.source);
      const kind = sourceKind(src, i);
      if (o.idmap) {
        const uid = m.uidMappings ?? spec.linux?.uidMappings;
        const gid = m.gidMappings ?? spec.linux?.gidMappings;
        if (!uid?.length || !gid?.length) {
          throw new RuntimeError(`config.json: mounts[${i}]: an idmapped mount needs uidMappings and gidMappings (on the mount or in linux)`);
        }
        // flags: 1 copies the submounts (rbind), 2 idmaps them too (ridmap); "idmap" maps the top only
        parentOps.push(['IDMAP_TREE', src, idMapText(uid), idMapText(gid), (o.recursiveBind ? 1 : 0) | (o.recursiveIdmap ? 2 : 0)]);
        ops.push(['MOUNT_FD', trees++, dst, kind]);
        if (o.bindRemountFlags || o.propagation || o.attrSet || o.attrClr) {
          ops.push(['MOUNT', '', dst, '', MS.REMOUNT | MS.BIND | o.bindRemountFlags, '', kind, 0, o.propagation, o.attrSet, o.attrClr, '']);
        }
        return;
      }
      if (userns && (input.cloneBindSources ?? (process.geteuid?.() ?? 0) === 0) && !spec.linux?.namespaces?.find((n) => n.type === 'user')?.path) {
        parentOps.push(['BIND_TREE', src, o.recursiveBind ? 1 : 0]);
        ops.push(['MOUNT_FD', trees++, dst, kind]);
        if (o.bindRemountFlags || o.propagation || o.attrSet || o.attrClr) {
          ops.push(['MOUNT', '', dst, '', MS.REMOUNT | MS.BIND | o.bindRemountFlags, '', kind, 0, o.propagation, o.attrSet, o.attrClr, '']);
        }
        return;
      }
      ops.push(['MOUNT', src, dst, '', o.flags, '', kind, o.bindRemountFlags, o.propagation, o.attrSet, o.attrClr, '']);
      return;
    }
    const fallback = m.type === 'sysfs' && userns && !netns ? '/sys' : '';
    if (m.uidMappings || m.gidMappings) {
      throw new RuntimeError(`config.json: mounts[${i}]: uidMappings/gidMappings are only supported on bind mounts`);
    }
    ops.push(['MOUNT', m.source ?? m.type ?? '', dst, m.type ?? '', o.flags, o.data.join(','), 'd', 0, o.propagation, o.attrSet, o.attrClr, fallback]);
  });
}

function compileDevices(spec: Spec, userns: boolean, ops: PlanOp[]): void {
  const mounts = spec.mounts ?? [];
  // A bind-mounted /dev is the user's own: leave it alone (as runc does).
  const devBound = mounts.some((m) => m.destination === '/dev' && parseMountOptions(m.options, m.type).bind);
  const listed = new Set((spec.linux?.devices ?? []).map((d) => d.path));
  const devices = [
    ...(devBound ? [] : DEFAULT_DEVICES.filter((d) => !listed.has(d.path)).map((d) => ({ ...d, type: 'c' as const, fileMode: 0o666, uid: 0, gid: 0 }))),
    ...(spec.linux?.devices ?? []),
  ];
  for (const d of devices) {
    if (userns) {
      // mknod is not allowed in a user namespace: bind the host's node instead
      ops.push(['MOUNT', d.path, d.path, '', MS.BIND, '', 'f', 0, 0, 0, 0, '']);
    } else {
      ops.push(['MKNOD', d.path, d.type, d.major ?? 0, d.minor ?? 0, d.fileMode ?? 0o666, d.uid ?? 0, d.gid ?? 0]);
    }
  }
  if (devBound) return;
  for (const [target, link] of DEV_SYMLINKS) ops.push(['SYMLINK', target, link]);
  if (mounts.some((m) => m.destination === '/dev/pts' && m.type === 'devpts')) ops.push(['SYMLINK', 'pts/ptmx', '/dev/ptmx']);
}

/** The plan that creates a new container (create, run). */
export function compileCreate(input: CreatePlanInput): PlanOp[] {
  const { spec, bundle } = input;
  // A spec without a process can be created; `start` then fails (runtime spec: process is
  // required for start, not create).
  const p = spec.process;
  if (!p && !input.execFifo) throw new RuntimeError('config.json: process: required to run a container');
  const ns = nsTypes(spec);
  // Without a mount namespace the container's mounts are made in the runtime's own namespace,
  // under the rootfs, and the process is chroot'ed there (as crun does); delete unmounts them.
  const mountns = ns.has('mount');
  if (!mountns && spec.root?.readonly) {
    throw new RuntimeError('config.json: root.readonly: needs a mount namespace (add {"type": "mount"} to linux.namespaces)');
  }
  const userns = ns.has('user');
  const parent: PlanOp[] = [['MODE', input.mode]];
  if (input.consoleSocket) parent.push(['CONSOLE_SOCKET', input.consoleSocket]);
  else if (p?.terminal && input.consoleProxy) parent.push(['CONSOLE_PROXY']);
  else if (p?.terminal) throw new RuntimeError('process.terminal is true: pass --console-socket, or run in the foreground');
  // child1 joins the cgroups itself (CGROUP_JOIN, as exec's): the parent writing its pid to
  // cgroup.procs took the kernel's threadgroup lock, whose RCU grace period was a third of a start
  for (const f of input.cgroup?.procsFiles ?? []) parent.push(['CGROUP_JOIN', dirname(f)]);

  const child1: PlanOp[] = [];
  const unshare: string[] = [];
  for (const n of ns.values()) {
    if (n.path) child1.push(['SETNS', n.type, n.path]);
    else unshare.push(n.type);
  }
  if (unshare.length) child1.push(['UNSHARE', ...unshare]);
  if (ns.has('user') && !ns.get('user')!.path) {
    const uid = spec.linux?.uidMappings ?? [];
    const gid = spec.linux?.gidMappings ?? [];
    if (input.idmapTools?.setgroupsDeny) parent.push(['SETGROUPS_DENY']);
    if (input.idmapTools?.uid) parent.push(['NEWIDMAP', 'uid_map', input.idmapTools.uid]);
    if (input.idmapTools?.gid) parent.push(['NEWIDMAP', 'gid_map', input.idmapTools.gid]);
    parent.push(['UIDMAP', idMapText(uid)], ['GIDMAP', idMapText(gid)]);
  }
  if (ns.has('time') && !ns.get('time')!.path) {
    for (const [clock, off] of Object.entries(spec.linux?.timeOffsets ?? {})) {
      child1.push(['TIMENS_OFFSET', clock, off.secs ?? 0, off.nanosecs ?? 0]);
    }
  }

  const init: PlanOp[] = [];
  const rootfs = input.rootfsOverride ?? rootfsPath(spec, bundle);
  init.push(['ROOTFS', rootfs]);
  const rootProp = spec.linux?.rootfsPropagation;
  const propFlags = rootProp ? PROPAGATION[rootProp] : undefined;
  if (rootProp && propFlags === undefined) {
    throw new RuntimeError(`config.json: linux.rootfsPropagation: unknown value "${rootProp}" (use private, rprivate, shared, rshared, slave, rslave, unbindable or runbindable)`);
  }
  // Stop our mounts from propagating to the host; then make the rootfs a mount point for pivot_root.
  let trees = 0;
  if (mountns) {
    init.push(['PROPAGATE', '/', MS.SLAVE | MS.REC]);
    if (input.idmapRootfs) {
      if (!userns || !spec.linux?.uidMappings?.length || !spec.linux?.gidMappings?.length) {
        throw new RuntimeError('an idmapped rootfs needs a new user namespace with linux.uidMappings and linux.gidMappings');
      }
      // the whole tree, submounts idmapped too (flags 1|2); tree 0, before the mounts' trees
      parent.push(['IDMAP_TREE', rootfs, idMapText(spec.linux.uidMappings), idMapText(spec.linux.gidMappings), 3]);
      init.push(['ROOTFS_TREE', trees++]);
    } else {
      init.push(['BIND_ROOTFS']);
    }
  }
  // sysfs needs a network namespace owned by the container's user namespace: a joined one
  // (the engine's, made by host root) is not, so /sys is bound from the host as without one
  const ownNetns = ns.has('network') && !ns.get('network')!.path;
  compileMounts(spec, bundle, input, userns, ownNetns, ns.has('cgroup'), init, parent, trees);
  compileDevices(spec, userns, init);
  // written by child1 before any user namespace (the init is not dumpable: its /proc files are not its own)
  if (p?.oomScoreAdj !== undefined) child1.push(['OOM_SCORE_ADJ', p.oomScoreAdj]);
  if (input.execFifo) init.push(['EXEC_FIFO', input.execFifo]);
  if (hasHooksNeedingSync(spec)) init.push(['SYNC_HOOKS']);
  for (const h of spec.hooks?.createContainer ?? []) init.push(hookOp(h));
  init.push([!mountns ? 'CHROOT' : input.noPivot ? 'MOVE_ROOT' : 'PIVOT']);
  if (propFlags !== undefined && mountns) init.push(['PROPAGATE', '/', propFlags]);
  // runc's order: names, sysctls (before /proc/sys turns read-only), read-only paths, masks, root.
  if (spec.hostname !== undefined) init.push(['SETHOSTNAME', spec.hostname]);
  if (spec.domainname !== undefined) init.push(['SETDOMAINNAME', spec.domainname]);
  for (const [k, v] of Object.entries(spec.linux?.sysctl ?? {})) init.push(['WRITE_FILE', '/proc/sys/' + k.replace(/\./g, '/'), v]);
  for (const r of spec.linux?.readonlyPaths ?? []) init.push(['READONLY', r]);
  for (const m of spec.linux?.maskedPaths ?? []) init.push(['MASK', m]);
  if (spec.root?.readonly) init.push(['REMOUNT_ROOT', MS.RDONLY]);
  init.push(['SETSID']);
  if (!input.noNewKeyring) init.push(['KEYRING', input.keyringName ?? '_ses']);
  if (!p) {
    // nothing to run: wait for start, which refuses; delete removes the container
    init.push(['READY'], ['WAIT_START'], ['EXIT', 1]);
    return [...parent, ...child1, ...init];
  }
  if (p.terminal) // gid -1: the pty keeps devpts' group (tty, gid=5), as with runc
  init.push(['CONSOLE', p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0, p.user.uid, -1, 1]);
  const setgroups = !input.idmapTools?.setgroupsDeny;
  if (spec.linux?.intelRdt) {
    throw new RuntimeError('config.json: linux.intelRdt: Intel RDT (resctrl) is not supported by berth yet; remove it');
  }
  const tailOpts = {
    ...(spec.linux?.personality ? { personality: spec.linux.personality } : {}),
    waitStart: !!input.execFifo,
    startHooks: spec.hooks?.startContainer ?? [],
    setgroups,
    ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    ...(input.preserveFds ? { preserveFds: input.preserveFds } : {}),
  };
  processTail(p, init, tailOpts);
  return [...parent, ...child1, ...init];
}

/** /proc/PID/ns/<file> names of each OCI namespace type. */
export const NS_FILE: Record<string, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

export interface ExecPlanInput {
  process: Process;
  /** Namespaces to join, in any order (the shim joins the user namespace first). */
  namespaces: { type: string; path: string }[];
  mode: 'wait' | 'detach';
  consoleSocket?: string;
  consoleProxy?: boolean;
  /** With consoleProxy: the shim's fd on which berth sends terminal sizes (piped stdio). */
  consoleSizeFd?: number;
  cgroupProcs: string[];
  seccomp?: SeccompLoad;
  preserveFds?: number;
  setgroups: boolean;
}

/** The plan that starts another process in a running container (exec). */
export function compileExec(input: ExecPlanInput): PlanOp[] {
  const p = input.process;
  const ops: PlanOp[] = [['MODE', input.mode]];
  if (input.consoleSocket) ops.push(['CONSOLE_SOCKET', input.consoleSocket]);
  else if (p.terminal && input.consoleProxy) ops.push(['CONSOLE_PROXY'], ...(input.consoleSizeFd !== undefined ? [['CONSOLE_SIZE_FD', input.consoleSizeFd] as PlanOp] : []));
  else if (p.terminal) throw new RuntimeError('--tty needs --console-socket when detached');
  // child1 joins the cgroups itself (CGROUP_JOIN): a pid written to cgroup.procs by the parent
  // waits for a kernel RCU grace period, most of an exec's time
  for (const f of input.cgroupProcs) ops.push(['CGROUP_JOIN', dirname(f)]);
  for (const n of input.namespaces) ops.push(['SETNS', n.type, n.path]);
  if (p.terminal) ops.push(['SETSID'], ['CONSOLE', p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0, p.user.uid, -1, 0]);
  processTail(p, ops, {
    setgroups: input.setgroups,
    ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    ...(input.preserveFds ? { preserveFds: input.preserveFds } : {}),
  });
  return ops;
}
