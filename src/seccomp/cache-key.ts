// The seccomp program cache's key and its hit path, without the compiler: a container start
// whose profile was compiled before (nearly every start) neither loads the BPF compiler and its
// syscall tables nor, through the index below, node:crypto (its first use costs a CLI 5-20 ms).
//
// Programs are kept as <cacheDir>/<sha256 key>.bpf (shared with berth-oci). The index maps a
// profile to its key without sha256: <cacheDir>/index/<quick hash> holds "<key>\n<canonical
// text>", and a lookup compares that text with the profile's in full, so a quick-hash collision
// is only a miss, never the wrong program.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveNativeArch } from './arch.js';
import type { LinuxSeccomp } from '../spec/types.js';

/** Bump whenever the generated code for some profile changes; it is part of the cache key. */
export const SECCOMP_COMPILER_VERSION = 1;

/** JSON with object keys sorted and undefined members dropped; bigints as plain numbers. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) {
    // a list of strings (a rule's syscall names: hundreds in the default profile) is already
    // canonical: one native JSON.stringify instead of a call per name
    let strings = true;
    for (const x of v) {
      if (typeof x !== 'string') {
        strings = false;
        break;
      }
    }
    if (strings) return JSON.stringify(v);
    return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return 'null';
}

/** The text the key hashes: compiler version, host architecture, canonical profile. */
function keyedText(spec: LinuxSeccomp, opts: { nativeArch?: string }): string {
  return `berth-seccomp/${SECCOMP_COMPILER_VERSION}/${resolveNativeArch(opts.nativeArch)}\n${canonicalJson(spec)}`;
}

/** sha256 over the canonical profile, the host architecture and the compiler version. */
export function seccompCacheKey(spec: LinuxSeccomp, opts: { nativeArch?: string } = {}): string {
  return createHash('sha256').update(keyedText(spec, opts)).digest('hex');
}

/** Where the compiled program of `spec` is kept under `cacheDir`. */
export function seccompProgramPath(spec: LinuxSeccomp, cacheDir: string, opts: { nativeArch?: string } = {}): string {
  return join(cacheDir, `${seccompCacheKey(spec, opts)}.bpf`);
}

/** A whole program file (a non-empty multiple of 8 bytes: struct sock_filter) at `path`. */
export function isProgramFile(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  return !!st && st.isFile() && st.size > 0 && st.size % 8 === 0;
}

/** 64 bits of two cheap string hashes (FNV-1a and djb2): names an index entry, nothing more. */
function quickHash(s: string): string {
  let a = 0x811c9dc5;
  let b = 5381;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = (Math.imul(b, 33) ^ c) | 0;
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

const indexEntry = (cacheDir: string, text: string) => join(cacheDir, 'index', quickHash(text));

/** The cached program file of `spec`, or undefined when the index does not know it (compile it then). */
export function cachedSeccompProgram(spec: LinuxSeccomp, cacheDir: string, opts: { nativeArch?: string } = {}): string | undefined {
  const text = keyedText(spec, opts);
  let entry: string;
  try {
    entry = readFileSync(indexEntry(cacheDir, text), 'utf8');
  } catch {
    return undefined;
  }
  const nl = entry.indexOf('\n');
  const key = entry.slice(0, nl);
  if (nl < 0 || !/^[0-9a-f]{64}$/.test(key) || entry.slice(nl + 1) !== text) return undefined;
  const path = join(cacheDir, `${key}.bpf`);
  return isProgramFile(path) ? path : undefined;
}

/** Records `programFile` (seccompProgramFile's result for `spec`) in the index; best effort. */
export function rememberSeccompProgram(spec: LinuxSeccomp, cacheDir: string, programFile: string, opts: { nativeArch?: string } = {}): void {
  const key = /([0-9a-f]{64})\.bpf$/.exec(programFile)?.[1];
  if (!key) return;
  const text = keyedText(spec, opts);
  const path = indexEntry(cacheDir, text);
  // whole or absent (temp file + rename); no fsync: a torn entry after a power loss is a miss
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(cacheDir, 'index'), { recursive: true });
    writeFileSync(tmp, `${key}\n${text}`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* never written */
    }
  }
}
