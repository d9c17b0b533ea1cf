// The hostile workload (test/helpers/hostile.c, built statically once per test process) and the
// default-hardened container it runs in: a user namespace mapping 65536 ids, Docker's default
// capabilities, berth's default seccomp profile for them, masked and read-only paths,
// no_new_privs.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSeccompProfile } from '../../src/seccomp/index.js';
import type { Spec } from '../../src/spec/types.js';
import { REPO } from './bundle.js';

/** The capabilities Docker (moby) grants a container by default. */
export const DOCKER_DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Host ids the hardened container's root and its 65535 other ids map to. */
export const HOST_ID_BASE = 200000;

let built: string | undefined;
let buildDir: string | undefined;

/** Path of the statically linked hostile helper (compiled on first use). */
export function hostileBinary(): string {
  if (built) return built;
  buildDir = mkdtempSync(join(tmpdir(), 'berth-hostile-'));
  const out = join(buildDir, 'hostile');
  execFileSync(process.env.CC || 'cc', ['-static', '-O2', '-D_GNU_SOURCE', '-o', out, join(REPO, 'test', 'helpers', 'hostile.c')], { stdio: 'pipe' });
  built = out;
  process.on('exit', () => rmSync(buildDir!, { recursive: true, force: true }));
  return out;
}

/** Copies the helper into rootfs/bin/hostile. */
export function installHostile(rootfs: string): void {
  const dst = join(rootfs, 'bin', 'hostile');
  copyFileSync(hostileBinary(), dst);
  chmodSync(dst, 0o755);
}

/** Whether a static C program can be built here (cc and libc.a). */
export function canBuildStatic(): boolean {
  try {
    hostileBinary();
    return existsSync(built!);
  } catch {
    return false;
  }
}

/** Edits a default spec into the default-hardened configuration. */
export function harden(s: Spec, opts: { userns?: boolean; seccomp?: boolean; caps?: string[] } = {}): void {
  const caps = opts.caps ?? DOCKER_DEFAULT_CAPS;
  const p = s.process!;
  p.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  p.noNewPrivileges = true;
  const lx = (s.linux ??= {});
  if (opts.userns ?? true) {
    lx.namespaces = (lx.namespaces ?? []).filter((n) => n.type !== 'user');
    lx.namespaces.push({ type: 'user' });
    lx.uidMappings = [{ containerID: 0, hostID: HOST_ID_BASE, size: 65536 }];
    lx.gidMappings = [{ containerID: 0, hostID: HOST_ID_BASE, size: 65536 }];
  }
  if (opts.seccomp ?? true) lx.seccomp = defaultSeccompProfile(caps);
}

/** Lets the mapped root of a hardened container own its rootfs (to make mount points). */
export function chownForUserns(bundleDir: string, rootfs: string): void {
  chmodSync(bundleDir, 0o755);
  execFileSync('chown', ['-R', `${HOST_ID_BASE}:${HOST_ID_BASE}`, rootfs]);
}

/** Parses "name RESULT" lines into a map. */
export function results(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}
