// run/create values that docker's CLI itself refuses, before any daemon call: checked here, where
// the flags enter, so each error is docker's flag error (`invalid argument "V" for "F" flag: ...`,
// no "Error:" prefix, exit 125) and nothing is created. The engine still checks the values it
// is given through the library; these are the command line's stricter rules.
import { parseMountFlag, parseUlimit } from '../../engine/units.js';
import { list, UsageError, type Flags } from './flags.js';

function flagError(flag: string, value: string, why: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${flag}" flag: ${why}`);
}

// docker's opts.ValidateSysctl: the IPC sysctls and the net.* and fs.mqueue.* families, as KEY=VALUE
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

export function sysctlAllowed(kv: string): boolean {
  const parts = kv.split('=');
  if (parts.length < 2) return false;
  const key = parts[0]!;
  return IPC_SYSCTLS.has(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.');
}

/** Throws docker's flag error for the first value docker's CLI would refuse. */
export function checkCreateFlags(f: Flags): void {
  for (const v of list(f, 'label')) {
    if (!v.split('=')[0]!.trim()) throw flagError('-l, --label', v, `invalid label '${v}': empty name`);
  }
  for (const v of list(f, 'env')) {
    if (!v.split('=')[0]) throw flagError('-e, --env', v, `invalid environment variable: ${v}`);
  }
  for (const v of list(f, 'sysctl')) {
    if (!sysctlAllowed(v)) throw flagError('--sysctl', v, `sysctl '${v}' is not allowed`);
  }
  for (const v of list(f, 'ulimit')) {
    try {
      parseUlimit(v);
    } catch (e) {
      throw flagError('--ulimit', v, (e as Error).message);
    }
  }
  for (const v of list(f, 'mount')) {
    try {
      parseMountFlag(v);
    } catch (e) {
      // docker's CLI refuses only a mount it cannot read (no target, a field without a value...);
      // the daemon judges the rest (type, source), and so does the engine here
      const m = /^invalid mount config: (target is required)$/.exec((e as Error).message);
      if (m) throw flagError('--mount', v, m[1]!);
    }
  }
}
