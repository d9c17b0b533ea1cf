// Whiteouts: how an OCI/docker layer says "deleted below" (a `.wh.<name>` entry) and "hide
// everything below this directory" (`.wh..wh..opq`), and how each storage form records it:
// overlay keeps them as overlay whiteouts (a 0/0 character device) and opaque directories
// (trusted.overlay.opaque=y); the copying snapshotters (vfs, btrfs) apply them as deletions.

export const WH_PREFIX = '.wh.';
export const WH_META_PREFIX = '.wh..wh.';
export const WH_OPAQUE = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** 'overlay': keep whiteouts in overlay form; 'apply': delete from the copied parent. */
export type WhiteoutMode = 'overlay' | 'apply';

export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque' } // the parent directory hides its lower contents
  | { kind: 'whiteout'; name: string } // the sibling `name` is deleted
  | { kind: 'meta' }; // other `.wh..wh.` entries (aufs bookkeeping): ignored

export function classifyWhiteout(base: string): WhiteoutKind {
  if (!base.startsWith(WH_PREFIX)) return { kind: 'none' };
  if (base === WH_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(WH_META_PREFIX)) return { kind: 'meta' };
  return { kind: 'whiteout', name: base.slice(WH_PREFIX.length) };
}

/** Xattrs an archive may not set: overlay's own (a forged redirect or opaque flag). */
export function isForbiddenXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}
