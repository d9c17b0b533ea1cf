// The btrfs snapshotter: each layer is a read-only subvolume, a snapshot of its parent with the
// layer applied (whiteouts become deletions); a container is a writable snapshot of its image's
// top layer (cheap: copy-on-write at the block level). Size limits are qgroup limits on the
// container's snapshot (its exclusive bytes: what it wrote). The storage root must be on btrfs.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../errors.js';
import { run } from '../exec.js';
import { diskUsage, FS_MAGIC, fsType } from '../fsutil.js';
import type { FsHelper } from '../helper.js';
import { limitBtrfsSubvolume } from '../quota/index.js';
import { diffTrees, newWalkContext } from '../diff/walk.js';
import type { TarWriteItem } from '../tar/writer.js';
import { BaseSnapshotter, type ContainerMeta } from './base.js';
import { HOST_LOWER, type ChainId, type PrepareContainerOptions, type RootfsMount } from './types.js';

/** BTRFS_FIRST_FREE_OBJECTID: the inode number of every subvolume's root directory. */
const SUBVOLUME_INO = 256;

export class BtrfsSnapshotter extends BaseSnapshotter {
  readonly kind = 'btrfs' as const;
  readonly whiteoutMode = 'apply' as const;

  constructor(root: string) {
    super(root);
    if (fsType(this.root) !== FS_MAGIC.btrfs) throw new StorageError('UNSUPPORTED', `the btrfs snapshotter needs its root (${this.root}) on a btrfs file system`);
  }

  protected async makeLayerDir(diff: string, parent: ChainId | undefined): Promise<void> {
    if (parent === undefined) await run('btrfs', ['subvolume', 'create', diff]);
    else await run('btrfs', ['subvolume', 'snapshot', this.layerPath(parent), diff]);
  }

  protected override async sealLayer(diff: string): Promise<void> {
    await run('btrfs', ['property', 'set', '-ts', diff, 'ro', 'true']);
  }

  /** Deletes the subvolumes in dir (deepest first), then the rest. */
  protected override async removeTree(dir: string): Promise<void> {
    const subvols: string[] = [];
    const walk = (p: string, depth: number) => {
      let st;
      try {
        st = lstatSync(p);
      } catch {
        return;
      }
      if (!st.isDirectory()) return;
      if (st.ino === SUBVOLUME_INO && p !== dir) {
        subvols.push(p);
        return; // a layer or rootfs: deleted whole
      }
      if (depth > 2) return; // subvolumes sit at known shallow places
      for (const n of readdirSync(p)) walk(join(p, n), depth + 1);
    };
    walk(dir, 0);
    for (const s of subvols) await run('btrfs', ['subvolume', 'delete', s]);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }

  protected async createContainer(_id: string, dir: string, chainIds: ChainId[], opts: PrepareContainerOptions): Promise<Omit<ContainerMeta, 'id' | 'chainIds' | 'created'>> {
    if (chainIds.length === 1 && chainIds[0] === HOST_LOWER) throw new StorageError('UNSUPPORTED', 'the host image needs the overlay snapshotter');
    if (opts.quota !== undefined && opts.quota !== 'auto' && opts.quota !== 'btrfs') throw new StorageError('QUOTA', `the btrfs snapshotter limits size with btrfs qgroups, not ${opts.quota}`);
    const top = chainIds[chainIds.length - 1];
    const rootfs = join(dir, 'rootfs');
    if (top) await run('btrfs', ['subvolume', 'snapshot', this.layerPath(top), rootfs]);
    else await run('btrfs', ['subvolume', 'create', rootfs]);
    const mount: RootfsMount = { path: rootfs, kind: 'directory' };
    if (opts.sizeLimit === undefined) return { mount };
    try {
      await limitBtrfsSubvolume(rootfs, opts.sizeLimit);
    } catch (e) {
      await run('btrfs', ['subvolume', 'delete', rootfs]).catch(() => {});
      throw e;
    }
    mount.quota = { kind: 'btrfs', bytes: opts.sizeLimit };
    // the subvolume is removed with the container directory: nothing else to undo
    return { mount };
  }

  protected async remount(): Promise<void> {}

  protected changes(meta: ContainerMeta, helper: FsHelper): AsyncIterable<TarWriteItem> {
    const top = meta.chainIds[meta.chainIds.length - 1];
    const lower = top ? this.layerPath(top) : join(this.root, 'empty');
    return diffTrees(newWalkContext(helper), lower, meta.mount.path);
  }

  protected containerBytes(meta: ContainerMeta): number {
    return diskUsage(meta.mount.path);
  }
}
