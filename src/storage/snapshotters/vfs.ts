// The vfs snapshotter, for hosts without overlay: each layer is a full copy of its parent with
// the layer applied (whiteouts become deletions), and each container a full copy of its image's
// top layer. Slow and large, but it works on any file system. Copies go through `cp -a`
// (reflinks where the file system has them; owners, modes, times, xattrs, hardlinks and device
// nodes preserved).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../errors.js';
import { run } from '../exec.js';
import { diskUsage } from '../fsutil.js';
import type { FsHelper } from '../helper.js';
import { createLimitedArea, destroyWritableArea, remountWritableArea, type QuotaRecord } from '../quota/index.js';
import { diffTrees, newWalkContext } from '../diff/walk.js';
import type { TarWriteItem } from '../tar/writer.js';
import { BaseSnapshotter, type ContainerMeta } from './base.js';
import { HOST_LOWER, type ChainId, type PrepareContainerOptions, type RootfsMount } from './types.js';

/** Copies the tree src to dst (which must not exist), preserving everything. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await run('cp', ['-a', '--preserve=all', '--reflink=auto', '--no-target-directory', src, dst], { timeoutMs: 3_600_000 });
}

export class VfsSnapshotter extends BaseSnapshotter {
  readonly kind = 'vfs' as const;
  readonly whiteoutMode = 'apply' as const;

  protected async makeLayerDir(diff: string, parent: ChainId | undefined): Promise<void> {
    if (parent === undefined) mkdirSync(diff, { mode: 0o755 });
    else await copyTree(this.layerPath(parent), diff);
  }

  protected async createContainer(_id: string, dir: string, chainIds: ChainId[], opts: PrepareContainerOptions): Promise<Omit<ContainerMeta, 'id' | 'chainIds' | 'created'>> {
    if (chainIds.length === 1 && chainIds[0] === HOST_LOWER) throw new StorageError('UNSUPPORTED', 'the host image needs the overlay snapshotter (vfs would copy the whole host)');
    const top = chainIds[chainIds.length - 1];
    let base = dir;
    let quota: QuotaRecord | undefined;
    if (opts.sizeLimit !== undefined) {
      // the copied image lives in the limited area too: the limit is on top of it
      const imageBytes = top ? diskUsage(this.layerPath(top)) : 0;
      const area = await createLimitedArea(dir, opts.sizeLimit, opts.quota, imageBytes);
      base = area.dir;
      quota = area.record;
    }
    try {
      const rootfs = join(base, 'rootfs');
      if (top) await copyTree(this.layerPath(top), rootfs);
      else mkdirSync(rootfs, { mode: 0o755 });
      const mount: RootfsMount = { path: rootfs, kind: 'directory' };
      if (quota) mount.quota = { kind: quota.kind, bytes: quota.bytes };
      return quota ? { mount, quota } : { mount };
    } catch (e) {
      if (quota) await destroyWritableArea(quota).catch(() => {});
      throw e;
    }
  }

  protected async remount(meta: ContainerMeta): Promise<void> {
    if (meta.quota) await remountWritableArea(meta.quota);
  }

  protected changes(meta: ContainerMeta, helper: FsHelper): AsyncIterable<TarWriteItem> {
    const top = meta.chainIds[meta.chainIds.length - 1];
    const lower = top ? this.layerPath(top) : join(this.root, 'empty');
    mkdirSync(join(this.root, 'empty'), { recursive: true, mode: 0o755 });
    return diffTrees(newWalkContext(helper), lower, meta.mount.path);
  }

  protected containerBytes(meta: ContainerMeta): number {
    return meta.quota?.kind === 'loop' ? diskUsage(meta.quota.image) : diskUsage(meta.mount.path);
  }
}
