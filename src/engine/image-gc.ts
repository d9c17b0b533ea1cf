// Garbage collection of image storage, shared by `image prune`, `rmi` and `system prune`:
// blobs no name reaches, then unpacked layers no image uses.
import { collectGarbage } from '../image/gc.js';
import { chainIds } from '../storage/layers.js';
import type { EngineImages } from './images.js';

export interface ImageGcResult {
  /** Blobs removed from the content store. */
  blobs: number;
  /** Bytes reclaimed: blobs and unpacked layers. */
  bytes: number;
}

export async function collectImageGarbage(im: EngineImages): Promise<ImageGcResult> {
  const r = await collectGarbage(im.images, im.content);
  const used = new Set<string>();
  for (const rec of im.images.records()) {
    try {
      for (const c of chainIds(im.images.config(rec).rootfs?.diff_ids ?? [])) used.add(c);
    } catch {
      /* a broken record keeps nothing */
    }
  }
  const snap = im.snapshotter;
  let bytes = r.reclaimedBytes;
  // top first: a layer can go once nothing above it is left, so repeat until a pass removes none
  for (let progress = true; progress; ) {
    progress = false;
    for (const l of snap.layers()) {
      if (used.has(l.chainId)) continue;
      const size = l.size;
      try {
        await snap.remove(l.chainId);
        bytes += size;
        progress = true;
      } catch {
        /* in use by a container or a layer above */
      }
    }
  }
  return { blobs: r.removed.length, bytes };
}
