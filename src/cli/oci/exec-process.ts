// Builds the process of `berth-oci exec` from --process FILE, or from argv and flags over the
// container's own process settings (as runc does).
import type { Process, Spec } from '../../spec/types.js';
import { UsageError, type ParsedFlags } from './args.js';
import { readJsonFile } from './main.js';

export async function buildExecProcess(spec: Spec, f: ParsedFlags, argv: string[]): Promise<Process> {
  const { validateProcess } = await import('../../spec/validate.js');
  let p: Process;
  if (f.process) {
    p = validateProcess(readJsonFile(f.process as string, '--process'), 'process.json');
  } else {
    if (argv.length === 0) throw new UsageError('exec: specify the command to run, or --process FILE');
    const base = spec.process;
    p = {
      args: argv,
      cwd: base?.cwd ?? '/',
      user: { uid: base?.user.uid ?? 0, gid: base?.user.gid ?? 0, ...(base?.user.additionalGids ? { additionalGids: base.user.additionalGids } : {}) },
      env: [...(base?.env ?? [])],
      ...(base?.capabilities ? { capabilities: structuredClone(base.capabilities) } : {}),
      ...(base?.noNewPrivileges ? { noNewPrivileges: true } : {}),
      ...(base?.rlimits ? { rlimits: base.rlimits } : {}),
    };
  }
  if (f.tty) p.terminal = true;
  if (f.cwd) p.cwd = f.cwd as string;
  for (const e of (f.env as string[] | undefined) ?? []) {
    if (!e.includes('=')) throw new UsageError(`--env "${e}": use NAME=VALUE`);
    const name = e.slice(0, e.indexOf('=') + 1);
    p.env = [...(p.env ?? []).filter((x) => !x.startsWith(name)), e];
  }
  if (f.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(f.user as string);
    if (!m) throw new UsageError(`--user "${f.user}": use UID[:GID] with numbers`);
    p.user = { ...p.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : p.user.gid };
  }
  if (f['additional-gids']) {
    p.user.additionalGids = (f['additional-gids'] as string[]).map((g) => {
      if (!/^\d+$/.test(g)) throw new UsageError(`--additional-gids "${g}": must be a number`);
      return Number(g);
    });
  }
  if (f['no-new-privs']) p.noNewPrivileges = true;
  const caps = (f.cap as string[] | undefined) ?? [];
  if (caps.length) {
    const { isCapabilityName } = await import('../../spec/capabilities.js');
    const c = p.capabilities ?? {};
    for (const cap of caps) {
      const name = cap.toUpperCase().startsWith('CAP_') ? cap.toUpperCase() : `CAP_${cap.toUpperCase()}`;
      if (!isCapabilityName(name)) throw new UsageError(`--cap "${cap}": unknown capability`);
      for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
        // runc adds --cap to every set but ambient; ambient only makes sense for non-root
        if (set === 'ambient') continue;
        c[set] = [...new Set([...(c[set] ?? []), name])];
      }
    }
    p.capabilities = c;
  }
  if (f['process-label'] || f.apparmor) throw new UsageError('--process-label/--apparmor: no SELinux or AppArmor on this host');
  if (f.cgroup) throw new UsageError('--cgroup: running exec in a sub-cgroup is not supported yet');
  return p;
}
