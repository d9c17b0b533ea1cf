// A container's OCI spec: berth's default spec with docker's defaults (capabilities, masked and
// read-only paths, seccomp profile, /etc/hosts, /etc/hostname and /etc/resolv.conf bind-mounted
// from the container's directory, the short id as hostname) and the user's options on top.
import { blockIOOf } from './blkio.js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CAPABILITY_NAMES, isCapabilityName } from '../spec/capabilities.js';
import { sharedDefaultSeccompProfile } from '../seccomp/default-profile-cache.js';
import { defaultSpec } from '../spec/default-spec.js';
import type { LinuxDevice, LinuxDeviceCgroup, LinuxResources, LinuxSeccomp, Mount, POSIXRlimit, Spec } from '../spec/types.js';
import { EngineError, invalid } from './errors.js';
import { goOpenError } from './go-errors.js';
import { shortId } from './ids.js';
import type { ContainerConfig, HostConfig } from './types.js';

/** Docker's default capabilities. */
export const DOCKER_DEFAULT_CAPS: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const DOCKER_MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DOCKER_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const INIT_PATH = '/sbin/berth-init';

export interface SpecInput {
  id: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  rootfs: string;
  /** Host files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
  /** Host directory of each named or anonymous volume, by container path. */
  volumeSources: Map<string, string>;
  /** The monitor binary, bind-mounted as the tiny init for --init. */
  initBinary: string;
  /** The host's cgroup v2 unified mode (a cgroup namespace by default, as docker). */
  cgroupNs?: boolean;
}

/** Resolves "CAP_X"/"x"/"ALL" lists into the final capability set. */
export function capabilities(hc: Pick<HostConfig, 'CapAdd' | 'CapDrop' | 'Privileged'>): string[] {
  if (hc.Privileged) return [...CAPABILITY_NAMES];
  // docker's daemon message, naming the list: invalid CapAdd: unknown capability: "CAP_X"
  const norm = (list: string) => (c: string) => {
    const u = c.toUpperCase();
    if (u === 'ALL') return 'ALL';
    const n = u.startsWith('CAP_') ? u : `CAP_${u}`;
    if (!isCapabilityName(n)) throw invalid(`invalid ${list}: unknown capability: ${JSON.stringify(n)}`);
    return n;
  };
  const add = hc.CapAdd.map(norm('CapAdd'));
  const drop = hc.CapDrop.map(norm('CapDrop'));
  let caps = new Set<string>(add.includes('ALL') ? CAPABILITY_NAMES : DOCKER_DEFAULT_CAPS);
  if (drop.includes('ALL')) caps = new Set();
  for (const c of drop) caps.delete(c);
  for (const c of add) if (c !== 'ALL') caps.add(c);
  return [...caps].sort();
}

interface Passwd {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function readLines(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** docker's user lookup: numeric ids, or names from the rootfs' /etc/passwd and /etc/group. */
export function resolveUser(user: string, rootfs: string): { uid: number; gid: number; additionalGids: number[]; home: string } {
  const [u = '', g] = user.split(':');
  const passwd: Passwd[] = readLines(join(rootfs, 'etc/passwd')).map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }));
  const groups = readLines(join(rootfs, 'etc/group')).map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
  let entry: Passwd | undefined;
  let uid: number;
  if (u === '' || /^\d+$/.test(u)) {
    uid = u === '' ? 0 : Number(u);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === u);
    if (!entry) throw new EngineError('invalid', `unable to find user ${u}: no matching entries in passwd file`);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grp = groups.find((x) => x.name === g);
      if (!grp) throw new EngineError('invalid', `unable to find group ${g}: no matching entries in group file`);
      gid = grp.gid;
    }
  }
  const name = entry?.name;
  const additionalGids = name ? groups.filter((x) => x.members.includes(name) && x.gid !== gid).map((x) => x.gid) : [];
  return { uid, gid, additionalGids, home: entry?.home ?? '/' };
}

const RLIMIT: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS', memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE', nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME', sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

/** The cgroup resources of HostConfig (also used by `update`). */
export function resourcesOf(hc: Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpusetCpus' | 'PidsLimit'>): LinuxResources {
  const r: LinuxResources = {};
  if (hc.Memory > 0) {
    r.memory = { limit: hc.Memory };
    // docker: unset swap means as much swap as memory (memory+swap = 2x)
    r.memory.swap = hc.MemorySwap === -1 ? -1 : hc.MemorySwap > 0 ? hc.MemorySwap : hc.Memory * 2;
  }
  if (hc.NanoCpus > 0 || hc.CpuShares > 0 || hc.CpusetCpus) {
    r.cpu = {};
    if (hc.NanoCpus > 0) {
      r.cpu.period = 100000;
      r.cpu.quota = Math.round((hc.NanoCpus * 100000) / 1e9);
    }
    if (hc.CpuShares > 0) r.cpu.shares = hc.CpuShares;
    if (hc.CpusetCpus) r.cpu.cpus = hc.CpusetCpus;
  }
  if (hc.PidsLimit !== null && hc.PidsLimit !== 0) r.pids = { limit: hc.PidsLimit < 0 ? -1 : hc.PidsLimit };
  return r;
}

function deviceOf(host: string, ctr: string, perms: string): { dev: LinuxDevice; rule: LinuxDeviceCgroup } {
  let st;
  try {
    st = statSync(host);
  } catch {
    throw invalid(`error gathering device information while adding custom device "${host}": no such file or directory`);
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) throw invalid(`error gathering device information while adding custom device "${host}": not a device node`);
  const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
  const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
  return {
    dev: { path: ctr, type, major, minor, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid },
    rule: { allow: true, type, major, minor, access: perms },
  };
}

function loadSeccompProfile(path: string): LinuxSeccomp {
  let obj: Record<string, unknown>;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid(`opening seccomp profile (${path}) failed: ${goOpenError(path, e)}`); // docker's CLI reads it
  }
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw invalid(`decoding seccomp profile failed: ${(e as Error).message}`); // and docker's daemon decodes it
  }
  // docker's format: archMap instead of architectures, includes/excludes per rule
  if (Array.isArray(obj.archMap) && !obj.architectures) {
    obj.architectures = (obj.archMap as { architecture: string; subArchitectures?: string[] }[]).flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])]);
  }
  delete obj.archMap;
  if (Array.isArray(obj.syscalls)) {
    obj.syscalls = (obj.syscalls as Record<string, unknown>[]).filter((s) => !s.includes || Object.keys(s.includes as object).length === 0).map((s) => {
      const { includes: _i, excludes: _e, comment: _c, ...rest } = s;
      return rest;
    });
  }
  return obj as unknown as LinuxSeccomp;
}

export function buildSpec(i: SpecInput): Spec {
  const { config: c, hostConfig: hc } = i;
  const args = [...(c.Entrypoint ?? []), ...c.Cmd];
  if (args.length === 0) throw invalid('No command specified');
  const user = resolveUser(c.User, i.rootfs);
  const caps = capabilities(hc);
  const hostname = c.Hostname || shortId(i.id);
  const env = new Map<string, string>();
  env.set('PATH', DEFAULT_PATH.slice(5));
  env.set('HOSTNAME', hostname);
  if (c.Tty) env.set('TERM', 'xterm');
  for (const e of c.Env) {
    const k = e.slice(0, e.indexOf('='));
    env.delete(k); // the user's variables keep their order after the defaults
    env.set(k, e.slice(k.length + 1));
  }
  if (!env.has('HOME')) env.set('HOME', user.home || '/');

  const spec = defaultSpec({ args, cgroupNamespace: i.cgroupNs });
  const p = spec.process!;
  p.terminal = c.Tty;
  p.user = { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) };
  p.env = [...env].map(([k, v]) => `${k}=${v}`);
  p.cwd = c.WorkingDir || '/';
  p.capabilities = { bounding: caps, effective: caps, permitted: caps };
  p.noNewPrivileges = hc.SecurityOpt.some((s) => /^no-new-privileges(?:[=:]true)?$/.test(s));
  const rlimits: POSIXRlimit[] = [];
  for (const u of hc.Ulimits) {
    const t = RLIMIT[u.Name];
    if (t) rlimits.push({ type: t, soft: u.Soft < 0 ? Number.MAX_SAFE_INTEGER : u.Soft, hard: u.Hard < 0 ? Number.MAX_SAFE_INTEGER : u.Hard });
  }
  if (rlimits.length) p.rlimits = rlimits;
  else delete p.rlimits;
  if (hc.Init) p.args = [INIT_PATH, 'init', ...args];

  spec.root = { path: i.rootfs, readonly: hc.ReadonlyRootfs };
  spec.hostname = hostname;
  if (c.Domainname) spec.domainname = c.Domainname;

  // docker's default mounts; privileged containers get /sys and cgroups read-write
  const mounts: Mount[] = (spec.mounts ?? []).map((m) => {
    if (hc.Privileged && (m.destination === '/sys' || m.destination === '/sys/fs/cgroup')) return { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') };
    return m;
  });
  const bind = (src: string, dst: string, ro: boolean, prop = 'rprivate'): Mount => ({ destination: dst, type: 'bind', source: src, options: ['rbind', prop, ...(ro ? ['ro'] : [])] });
  mounts.push(bind(i.resolvConfPath, '/etc/resolv.conf', false), bind(i.hostnamePath, '/etc/hostname', false), bind(i.hostsPath, '/etc/hosts', false));
  for (const m of hc.Mounts) {
    if (m.Type === 'tmpfs') {
      const o = ['nosuid', 'nodev', 'noexec'];
      if (m.TmpfsSize) o.push(`size=${m.TmpfsSize}`);
      if (m.TmpfsMode !== undefined) o.push(`mode=${m.TmpfsMode.toString(8)}`);
      if (m.ReadOnly) o.push('ro');
      mounts.push({ destination: m.Target, type: 'tmpfs', source: 'tmpfs', options: o });
    } else if (m.Type === 'bind') {
      mounts.push(bind(m.Source, m.Target, m.ReadOnly, m.Propagation ?? 'rprivate'));
    } else {
      const src = i.volumeSources.get(m.Target);
      if (!src) throw new Error(`volume for ${m.Target} was not prepared`);
      mounts.push(bind(src, m.Target, m.ReadOnly));
    }
  }
  for (const [dst, opts] of Object.entries(hc.Tmpfs)) {
    const o = opts ? opts.split(',').filter(Boolean) : [];
    if (!o.some((x) => x === 'exec' || x === 'noexec')) o.push('noexec');
    if (!o.some((x) => x === 'suid' || x === 'nosuid')) o.push('nosuid');
    if (!o.some((x) => x === 'dev' || x === 'nodev')) o.push('nodev');
    mounts.push({ destination: dst, type: 'tmpfs', source: 'tmpfs', options: o });
  }
  if (hc.Init) mounts.push(bind(i.initBinary, INIT_PATH, true));
  spec.mounts = mounts;

  const linux = spec.linux!;
  if (hc.NetworkMode === 'host') linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network');
  linux.cgroupsPath = `/berth/${i.id}`;
  const resources = resourcesOf(hc);
  const rules: LinuxDeviceCgroup[] = hc.Privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }];
  const devices: LinuxDevice[] = [];
  for (const d of hc.Devices) {
    const { dev, rule } = deviceOf(d.PathOnHost, d.PathInContainer, d.CgroupPermissions);
    devices.push(dev);
    rules.push(rule);
  }
  resources.devices = rules;
  const blockIO = blockIOOf(hc); // throws for a path that is not a block device
  if (blockIO) resources.blockIO = blockIO;
  linux.resources = resources;
  if (devices.length) linux.devices = devices;
  if (Object.keys(hc.Sysctls).length) linux.sysctl = { ...hc.Sysctls };
  if (hc.Privileged) {
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
  } else {
    linux.maskedPaths = [...DOCKER_MASKED_PATHS];
    linux.readonlyPaths = [...DOCKER_READONLY_PATHS];
  }
  const seccompOpt = hc.SecurityOpt.map((s) => /^seccomp[=:](.*)$/.exec(s)?.[1]).find((x) => x !== undefined);
  if (!hc.Privileged && seccompOpt !== 'unconfined') {
    linux.seccomp = seccompOpt ? loadSeccompProfile(seccompOpt) : sharedDefaultSeccompProfile(caps);
  }
  return spec;
}

/**
 * The spec as it is checked against the OCI schema at create (a JSON copy, as stored): berth's
 * own default seccomp profile is left out -- generated here, not given by the user, and checked
 * again by the compiler on a cache miss -- as walking its ~400 names costs a cold CLI ~1 ms.
 */
export function specToValidate(spec: Spec, hc: Pick<HostConfig, 'SecurityOpt'>): unknown {
  const own = !hc.SecurityOpt.some((s) => /^seccomp[=:]/.test(s));
  if (!own || !spec.linux?.seccomp) return JSON.parse(JSON.stringify(spec));
  const { seccomp: _default, ...linux } = spec.linux;
  return JSON.parse(JSON.stringify({ ...spec, linux }));
}
