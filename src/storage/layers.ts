// From an image (manifest + config) to snapshots: each layer unpacked once, bottom first, its
// diff_id verified while unpacking.
import type { ContentStore, ImageConfig, ImageManifest } from '../image/types.js';
import { StorageError } from './errors.js';
import { chainIds } from './fsutil.js';
import type { ChainId, Snapshotter } from './snapshotters/types.js';
import { unpackLayer, type UnpackLimits } from './unpack/index.js';
import { unpackLayerThreaded } from './unpack-pool.js';
import { availableParallelism } from 'node:os';

export { chainIds, chainIdOf } from './fsutil.js';

export interface PrepareImageOptions {
  limits?: Partial<UnpackLimits>;
  /** Called as each layer is ready (unpacked now or already there). */
  onLayer?: (index: number, chainId: ChainId, unpacked: boolean) => void;
  /** Layers unpacked at once where the snapshotter allows it (default: max(4, cores)). */
  parallel?: number;
}

/** Unpacks the image's missing layers into the snapshotter; returns its chain ids, bottom first. */
export async function prepareImageLayers(snap: Snapshotter, store: ContentStore, manifest: ImageManifest, config: ImageConfig, opts: PrepareImageOptions = {}): Promise<ChainId[]> {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw new StorageError('FORMAT', `the image has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`);
  const chain = chainIds(diffIds);
  // overlay layers unpack side by side (each in a worker thread, at most `parallel` at once);
  // each is committed only above its committed parent. Other snapshotters build on the parent.
  // (unpacking waits on the disk as much as on a core: more unpacks than cores still pay)
  const parallel = snap.independentLayers ? Math.max(1, opts.parallel ?? Math.max(4, availableParallelism())) : 1;
  // a berth killed mid-unpack left its half layer in tmp/: clear such leftovers before unpacking again
  if (chain.some((c) => !snap.hasLayer(c))) await snap.removeStaleWork();
  const slots = new Semaphore(parallel);
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < chain.length; i++) {
    const layer = manifest.layers[i]!;
    const parentReady = done[i - 1];
    done.push(
      (async () => {
        let unpacked = false;
        await snap.prepareLayer({ diffId: diffIds[i]!, chainId: chain[i]! }, chain[i - 1], async (dir, mode) => {
          if (!store.has(layer.digest)) throw new StorageError('NOT_FOUND', `layer blob ${layer.digest} is not in the content store`);
          const r = { source: store.path(layer.digest), dest: dir, mode, expectedDiffId: diffIds[i]! };
          // the biggest layers first: the longest unpack bounds the whole
          await slots.run(() => (parallel > 1 ? unpackLayerThreaded : unpackLayer)(opts.limits ? { ...r, limits: opts.limits } : r), layer.size);
          unpacked = true;
        }, parentReady ? { parentReady } : {});
        opts.onLayer?.(i, chain[i]!, unpacked);
      })(),
    );
  }
  // every layer settles before an error is reported: no unpack runs on behind the caller's back
  const results = await Promise.allSettled(done);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof StorageError && r.reason.code === 'NOT_FOUND' && /is not unpacked/.test(r.reason.message)));
  if (failed) throw failed.reason;
  const any = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (any) throw any.reason;
  return chain;
}

/** At most n tasks at once; waiting tasks start by priority, highest first. */
class Semaphore {
  private waiting: { priority: number; go: () => void }[] = [];
  constructor(private free: number) {}
  async run<T>(fn: () => Promise<T>, priority = 0): Promise<T> {
    if (this.free > 0) this.free--;
    else
      await new Promise<void>((go) => {
        const i = this.waiting.findIndex((w) => w.priority < priority);
        this.waiting.splice(i < 0 ? this.waiting.length : i, 0, { priority, go });
      });
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next.go();
      else this.free++;
    }
  }
}
