// Path containment for archive entries. Entry names are cleaned lexically, absolute names are
// taken relative to the layer root (as docker does), and a name that climbs out of the root
// with ".." is refused. Creating files never follows a symlink: see unpack/apply.ts.
import { StorageError } from './errors.js';

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

/**
 * The components of an entry name inside the layer root ([] for the root itself).
 * Throws HOSTILE for names that climb out with "..", and for NUL or over-long names.
 */
export function entryComponents(name: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw new StorageError('HOSTILE', `${what} "${printable(name)}" contains a NUL byte`);
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) throw new StorageError('LIMIT', `${what} name is longer than ${MAX_PATH_BYTES} bytes`);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new StorageError('HOSTILE', `${what} "${printable(name)}" points outside the layer`);
      out.pop();
      continue;
    }
    if (Buffer.byteLength(c) > MAX_NAME_BYTES) throw new StorageError('LIMIT', `${what} "${printable(name).slice(0, 80)}..." has a component longer than ${MAX_NAME_BYTES} bytes`);
    out.push(c);
  }
  return out;
}

/** The cleaned relative path of an entry ('' for the root). */
export function cleanEntryPath(name: string, what?: string): string {
  return entryComponents(name, what).join('/');
}

export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 200);
}

/** Digests that name directories: strictly "sha256:<64 lowercase hex>". */
export function digestHex(digest: string, what = 'digest'): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new StorageError('FORMAT', `${what} "${printable(digest)}" is not a sha256 digest (sha256:<64 hex digits>)`);
  return m[1]!;
}

/** Container and snapshot ids that become directory names. */
export function checkId(id: string, what = 'container id'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw new StorageError('FORMAT', `${what} "${printable(id)}" must be 1-128 letters, digits, "_", "." or "-", starting with a letter or digit`);
  return id;
}
