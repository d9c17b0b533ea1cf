// Compiled programs cached on disk by profile: container start pays the compile once per profile.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { resolveNativeArch, scmpArch } from './arch.js';
import { compileSeccomp } from './compile.js';
import { normalizeSeccomp } from './profile.js';
import type { LinuxSeccomp } from '../spec/types.js';

/** Bump whenever the generated code for some profile changes; it is part of the cache key. */
export const SECCOMP_COMPILER_VERSION = 1;

/** JSON with object keys sorted and undefined members dropped; bigints as plain numbers. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return 'null';
}

/** sha256 over the canonical profile, the host architecture and the compiler version. */
export function seccompCacheKey(spec: LinuxSeccomp, opts: { nativeArch?: string } = {}): string {
  const native = resolveNativeArch(opts.nativeArch);
  return createHash('sha256')
    .update(`berth-seccomp/${SECCOMP_COMPILER_VERSION}/${native}\n`)
    .update(canonicalJson(spec))
    .digest('hex');
}

/**
 * Path of `<cacheDir>/<hash>.bpf` holding the compiled program for `spec`, compiling and writing
 * it (temp file, fsync, rename) only when it is missing. Concurrent callers may both compile;
 * the rename makes either result whole. Load flags come from seccompFilterFlags(spec).
 */
export function seccompProgramFile(spec: LinuxSeccomp, cacheDir: string, opts: { nativeArch?: string } = {}): string {
  const path = join(cacheDir, `${seccompCacheKey(spec, opts)}.bpf`);
  try {
    const st = statSync(path);
    if (st.isFile() && st.size > 0 && st.size % 8 === 0) return path;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
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
