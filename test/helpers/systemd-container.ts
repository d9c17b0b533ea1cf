// A system container that boots the host's systemd as PID 1, for tests and benchmarks of the
// systemd cgroup driver on hosts that do not run systemd themselves. Its rootfs is a directory of
// the usual symlinks with the host's /usr and /etc bound read-only, tmpfs /run /tmp /var, its own
// cgroup namespace with writable cgroup mounts (systemd then runs in the host's layout: hybrid
// here), and this checkout bound read-only at the same path so `berth-oci` runs inside. Nested
// bundles go to /nested (a host directory bound read-write).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Spec } from '../../src/spec/types.js';
import { BERTH_OCI, REPO, makeBusyboxRootfs } from './bundle.js';

export const SYSTEMD = '/lib/systemd/systemd';

const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
];

export interface SystemdContainer {
  id: string;
  /** Host directory bound at /nested inside. */
  nestedDir: string;
  /** berth-oci on the host, on this container. */
  host(args: string[], timeout?: number): { status: number | null; stdout: string; stderr: string };
  /** A shell command inside the container (stdout and stderr together). */
  sh(cmd: string, timeout?: number): { status: number | null; out: string };
  /** Write a busybox bundle to /nested/<name> inside. */
  nestedBundle(name: string, args: string[], edit?: (s: Spec) => void): void;
  /** `systemctl is-system-running` after the boot settled ("running" is the goal). */
  systemState: string;
  stop(): void;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Boot it (basic.target: no host services that cannot run read-only) and wait for systemd. */
export function bootSystemdContainer(tag: string): SystemdContainer {
  const dir = mkdtempSync(join(tmpdir(), 'berth-systemd-'));
  const state = join(dir, 'state');
  const id = `bt-systemd-${tag}`;
  const repo = REPO.replace(/\/$/, '');
  const rootfs = join(dir, 'rootfs');
  for (const d of ['usr', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'var', 'root', 'nested', repo]) mkdirSync(join(rootfs, d), { recursive: true });
  for (const l of ['bin', 'lib', 'lib64', 'sbin']) if (existsSync(`/${l}`)) symlinkSync(`usr/${l}`, join(rootfs, l));
  const nestedDir = join(dir, 'nested');
  mkdirSync(nestedDir);
  const s = defaultSpec({ args: [SYSTEMD, '--unit=basic.target'] });
  s.process!.terminal = false;
  s.process!.env!.push('container=berth');
  s.process!.capabilities = { bounding: ALL_CAPS, effective: ALL_CAPS, permitted: ALL_CAPS };
  s.process!.noNewPrivileges = false;
  s.root = { path: 'rootfs', readonly: true };
  s.hostname = 'berth-systemd';
  const linux = (s.linux ??= {});
  if (!linux.namespaces?.some((n) => n.type === 'cgroup')) linux.namespaces?.push({ type: 'cgroup' });
  // systemd manages its cgroup hierarchies: writable cgroup mounts in its own cgroup namespace
  s.mounts = s.mounts!.map((m) => (m.destination === '/sys/fs/cgroup' ? { ...m, options: ['nosuid', 'noexec', 'nodev', 'relatime', 'rw'] } : m));
  for (const d of ['/run', '/tmp', '/var', '/run/lock']) s.mounts.push({ destination: d, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] });
  for (const d of ['/usr', '/etc', repo]) s.mounts.push({ destination: d, type: 'bind', source: d, options: ['rbind', 'ro'] });
  s.mounts.push({ destination: '/nested', type: 'bind', source: nestedDir, options: ['rbind', 'rw'] });
  linux.maskedPaths = [];
  linux.readonlyPaths = [];
  delete linux.seccomp;
  linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(s, null, 2));

  const host = (args: string[], timeout = 60000) => {
    const r = spawnSync(process.execPath, [BERTH_OCI, '--root', state, ...args], { encoding: 'utf8', timeout, input: '' });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const sh = (cmd: string, timeout = 60000) => {
    const r = host(['exec', id, 'sh', '-c', cmd], timeout);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  let running = false;
  const stop = (): void => {
    if (running) host(['delete', '--force', id]);
    running = false;
    rmSync(dir, { recursive: true, force: true });
  };
  const r = host(['run', '-d', '--bundle', dir, id]);
  if (r.status !== 0) {
    stop();
    throw new Error(`booting systemd in a container failed: ${r.stdout}${r.stderr}`);
  }
  running = true;
  let systemState = '';
  for (let i = 0; i < 120; i++) {
    systemState = sh('systemctl is-system-running').out.trim();
    if (systemState === 'running' || systemState === 'degraded') break;
    sleepMs(500);
  }
  const nestedBundle = (name: string, args: string[], edit?: (s: Spec) => void): void => {
    const b = join(nestedDir, name);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    makeBusyboxRootfs(join(b, 'rootfs'));
    const ns = defaultSpec({ args });
    ns.process!.terminal = false;
    ns.root = { path: 'rootfs', readonly: false };
    edit?.(ns);
    writeFileSync(join(b, 'config.json'), JSON.stringify(ns, null, 2));
  };
  return { id, nestedDir, host, sh, nestedBundle, systemState, stop };
}
