// From an image (manifest + config) to snapshots: each layer unpacked once, bottom first, its
// diff_id verified while unpacking.
import type { ContentStore, ImageConfig, ImageManifest } from '../image/types.js';
import { StorageError } from './errors.js';
import { chainIds } from './fsutil.js';
import type { ChainId, Snapshotter } from './snapshotters/types.js';
import { unpackLayer, type UnpackLimits } from './unpack/index.js';

export { chainIds, chainIdOf } from './fsutil.js';

export interface PrepareImageOptions {
  limits?: Partial<UnpackLimits>;
  /** Called as each layer is ready (unpacked now or already there). */
  onLayer?: (index: number, chainId: ChainId, unpacked: boolean) => void;
}

/** Unpacks the image's missing layers into the snapshotter; returns its chain ids, bottom first. */
export async function prepareImageLayers(snap: Snapshotter, store: ContentStore, manifest: ImageManifest, config: ImageConfig, opts: PrepareImageOptions = {}): Promise<ChainId[]> {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw new StorageError('FORMAT', `the image has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`);
  const chain = chainIds(diffIds);
  {
    for (let i = 0; i < chain.length; i++) {
      const layer = manifest.layers[i]!;
      let unpacked = false;
      await snap.prepareLayer({ diffId: diffIds[i]!, chainId: chain[i]! }, chain[i - 1], async (dir, mode) => {
        if (!store.has(layer.digest)) throw new StorageError('NOT_FOUND', `layer blob ${layer.digest} is not in the content store`);
        const r = { source: store.path(layer.digest), dest: dir, mode, expectedDiffId: diffIds[i]! };
        await unpackLayer(opts.limits ? { ...r, limits: opts.limits } : r);
        unpacked = true;
      });
      opts.onLayer?.(i, chain[i]!, unpacked);
    }
  }
  return chain;
}
