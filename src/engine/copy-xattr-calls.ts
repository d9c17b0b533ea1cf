// The extended-attribute calls of `cp`, in this process. Node has none; @napi-rs/xattr (a
// prebuilt N-API addon; the l* calls: a symlink as the last component is not followed) makes
// them without a process: the storage helper they went through before costs ~30 ms to start in
// every `cp`. Where the addon does not load (a platform without its prebuilt binary) they go
// through the helper as before (src/storage/helper.ts, the same l* calls).
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { sharedHelper } from '../storage/helper.js';

interface XattrAddon {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
  setAttributeSync(path: string, name: string, value: Uint8Array): void;
}

let addon: XattrAddon | null | undefined;

/** Loaded on first use (only cp needs it); resolved at run time, so the CLI bundle leaves it to node_modules. */
function xattrAddon(): XattrAddon | null {
  if (addon === undefined) {
    const name = '@napi-rs/xattr';
    try {
      addon = createRequire(import.meta.url)(name) as XattrAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

let errnoNames: Map<number, string> | undefined;

/**
 * The addon's errors carry only "message (os error N)": give them the errno name as `code`, as
 * Node's fs errors (and the helper's) have, so callers can tell ENOTSUP from a real failure.
 */
function withCode(e: unknown, what: string): Error {
  const m = /\(os error (\d+)\)\s*$/.exec((e as Error)?.message ?? '');
  if (!m) return e as Error;
  errnoNames ??= new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));
  const errno = Number(m[1]);
  return Object.assign(new Error(`${what}: ${(e as Error).message}`), { code: errnoNames.get(errno) ?? `E${errno}`, errno });
}

/** Every extended attribute of `path` (not following a symlink there). */
export async function getXattrs(path: string): Promise<Map<string, Buffer>> {
  const x = xattrAddon();
  if (!x) return sharedHelper().getXattrs(path);
  const out = new Map<string, Buffer>();
  try {
    for (const name of x.listAttributesSync(path)) {
      const v = x.getAttributeSync(path, name);
      if (v) out.set(name, v); // null: removed between the two calls
    }
  } catch (e) {
    throw withCode(e, `listing the extended attributes of ${path}`);
  }
  return out;
}

/** Sets one extended attribute of `path` (not following a symlink there). */
export async function setXattr(path: string, name: string, value: Buffer): Promise<void> {
  const x = xattrAddon();
  if (!x) return sharedHelper().setXattr(path, name, value);
  try {
    x.setAttributeSync(path, name, value);
  } catch (e) {
    throw withCode(e, `setting ${name} on ${path}`);
  }
}
