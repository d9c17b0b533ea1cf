// The seccomp program cache's key and its hit path, without the compiler: a container start
// whose profile was compiled before (nearly every start) neither loads the BPF compiler and its
// syscall tables nor, through the index below, node:crypto (its first use costs a CLI 5-20 ms).
//
// Programs are kept as <cacheDir>/<sha256 key>.bpf (shared with berth-oci). The index maps a
// profile to its key without hashing at all: <cacheDir>/index/len-<length of the canonical text>
// holds records "<key>\n<canonical text>" (each the same size, as their texts have that length;
// usually one), and a lookup compares the texts in full (native code), so it never hands out
// another profile's program. The length names the file for free: hashing the ~6 KB text in
// JavaScript cost a CLI ~0.45 ms, all of it in the interpreter.
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

/** Canonical texts of frozen profiles (default-profile-cache.ts): a frozen one cannot change. */
const frozenText = new WeakMap<object, string>();

/** The text the key hashes: compiler version, host architecture, canonical profile. */
function keyedText(spec: LinuxSeccomp, opts: { nativeArch?: string }): string {
  const arch = resolveNativeArch(opts.nativeArch);
  let canon = Object.isFrozen(spec) ? frozenText.get(spec) : undefined;
  if (canon === undefined) {
    canon = canonicalJson(spec);
    if (Object.isFrozen(spec) && isDeepFrozen(spec)) frozenText.set(spec, canon);
  }
  return `berth-seccomp/${SECCOMP_COMPILER_VERSION}/${arch}\n${canon}`;
}

function isDeepFrozen(v: unknown): boolean {
  if (!v || typeof v !== 'object') return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
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

/** The index file of the profiles whose keyed text has `text`'s length. */
const indexFile = (cacheDir: string, text: string) => join(cacheDir, 'index', `len-${text.length}`);

/** Records an index file may hold (distinct profiles of one text length): the newest are kept. */
const MAX_RECORDS = 8;

const KEY = /^[0-9a-f]{64}\n$/;

/**
 * The records of an index file's content: [key, offset of its text], or undefined when the
 * content is not whole records of texts `len` long (a torn or foreign file: a miss).
 */
function records(content: string, len: number): [string, number][] | undefined {
  const size = 65 + len;
  if (content.length === 0 || content.length % size !== 0) return undefined;
  const out: [string, number][] = [];
  for (let off = 0; off < content.length; off += size) {
    const key = content.slice(off, off + 65);
    if (!KEY.test(key)) return undefined;
    out.push([key.slice(0, 64), off + 65]);
  }
  return out;
}

/** The key recorded for `text` in an index file's content, or undefined. */
function keyIn(content: string, text: string): string | undefined {
  for (const [key, at] of records(content, text.length) ?? []) if (content.startsWith(text, at)) return key;
  return undefined;
}

/** The cached program file of `spec`, or undefined when the index does not know it (compile it then). */
export function cachedSeccompProgram(spec: LinuxSeccomp, cacheDir: string, opts: { nativeArch?: string } = {}): string | undefined {
  const text = keyedText(spec, opts);
  // found before in this process (a warm one creates with one profile again and again): the
  // text compared in full, the program file still whole
  const known = lastHit.get(cacheDir);
  if (known?.text === text && isProgramFile(known.path)) return known.path;
  let content: string;
  try {
    content = readFileSync(indexFile(cacheDir, text), 'utf8');
  } catch {
    return undefined;
  }
  const key = keyIn(content, text);
  if (!key) return undefined;
  const path = join(cacheDir, `${key}.bpf`);
  if (!isProgramFile(path)) return undefined;
  lastHit.set(cacheDir, { text, path });
  return path;
}

/** The last hit per cache directory (cachedSeccompProgram). */
const lastHit = new Map<string, { text: string; path: string }>();

/** Records `programFile` (seccompProgramFile's result for `spec`) in the index; best effort. */
export function rememberSeccompProgram(spec: LinuxSeccomp, cacheDir: string, programFile: string, opts: { nativeArch?: string } = {}): void {
  const key = /([0-9a-f]{64})\.bpf$/.exec(programFile)?.[1];
  if (!key) return;
  const text = keyedText(spec, opts);
  const path = indexFile(cacheDir, text);
  // the other profiles of this length stay (the oldest go past MAX_RECORDS); an unreadable or
  // torn file is replaced
  let content = '';
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    /* the first of its length */
  }
  const kept = (records(content, text.length) ?? []).filter(([, at]) => !content.startsWith(text, at));
  const next = [...kept.slice(-(MAX_RECORDS - 1)).map(([k, at]) => `${k}\n${content.slice(at, at + text.length)}`), `${key}\n${text}`].join('');
  // whole or absent (temp file + rename); no fsync: a torn entry after a power loss is a miss.
  // Two processes adding two profiles of one length at once may keep only one: the other misses
  // once more and is added again.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(cacheDir, 'index'), { recursive: true });
    writeFileSync(tmp, next, { mode: 0o644 });
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* never written */
    }
  }
}
