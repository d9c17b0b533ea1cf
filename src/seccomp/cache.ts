// Compiled programs cached on disk by profile: container start pays the compile once per profile.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { scmpArch } from './arch.js';
import { isProgramFile, seccompProgramPath } from './cache-key.js';
import { compileSeccomp } from './compile.js';
import { normalizeSeccomp } from './profile.js';
import type { LinuxSeccomp } from '../spec/types.js';

export { SECCOMP_COMPILER_VERSION, canonicalJson, seccompCacheKey, seccompProgramPath, cachedSeccompProgram } from './cache-key.js';

/**
 * Path of `<cacheDir>/<hash>.bpf` holding the compiled program for `spec`, compiling and writing
 * it (temp file, fsync, rename) only when it is missing. Concurrent callers may both compile;
 * the rename makes either result whole. Load flags come from seccompFilterFlags(spec).
 */
export function seccompProgramFile(spec: LinuxSeccomp, cacheDir: string, opts: { nativeArch?: string } = {}): string {
  const path = seccompProgramPath(spec, cacheDir, opts);
  if (isProgramFile(path)) return path;
  const { program } = compileSeccomp(spec, opts);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.${randomBytes(6).toString('hex')}.bpf.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, program);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw e;
  }
  return path;
}

/** Flags for seccomp(SECCOMP_SET_MODE_FILTER) and whether a listener fd results; no compile. */
export function seccompFilterFlags(spec: LinuxSeccomp): { flags: number; notify: boolean } {
  const { flags, notify } = normalizeSeccomp(spec, (n) => scmpArch(n) !== undefined);
  return { flags, notify };
}
