// Picks and makes snapshotters.
import { readFileSync } from 'node:fs';
import { StorageError } from '../errors.js';
import { FS_MAGIC, fsType } from '../fsutil.js';
import { BtrfsSnapshotter } from './btrfs.js';
import { OverlaySnapshotter, type OverlayOptions } from './overlay.js';
import type { Snapshotter, SnapshotterKind } from './types.js';
import { VfsSnapshotter } from './vfs.js';

export * from './types.js';
export { OverlaySnapshotter, DEFAULT_HOST_HIDE, MAX_OVERLAY_LAYERS, overlayMountOptions } from './overlay.js';
export { VfsSnapshotter, copyTree } from './vfs.js';
export { BtrfsSnapshotter } from './btrfs.js';

/** What the host can do: overlay unless the kernel lacks it or the root is itself on an overlay. */
export function defaultSnapshotterKind(root: string): SnapshotterKind {
  let hasOverlay = false;
  try {
    hasOverlay = /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {}
  if (!hasOverlay) return 'vfs';
  try {
    if (fsType(root) === FS_MAGIC.overlay) return 'vfs'; // an overlay cannot be an upper layer
  } catch {}
  return 'overlay';
}

export function createSnapshotter(kind: SnapshotterKind | 'auto', root: string, opts: OverlayOptions = {}): Snapshotter {
  switch (kind === 'auto' ? defaultSnapshotterKind(root) : kind) {
    case 'overlay':
      return new OverlaySnapshotter(root, opts);
    case 'vfs':
      return new VfsSnapshotter(root);
    case 'btrfs':
      return new BtrfsSnapshotter(root);
    default:
      throw new StorageError('FORMAT', `unknown snapshotter "${kind}" (overlay, vfs, btrfs)`);
  }
}
