// Garbage collection of the content store: a blob stays while an image name reaches it (through
// its index, manifest, config and layers) or a live lease holds it; everything else goes.
// Reachability is computed each time from the image store, so there are no counters to drift.
import type { FileContentStore, PruneOptions, PruneResult } from './content-store.js';
import type { ImageStore } from './image-store.js';

/** Removes unreferenced blobs and stale downloads (`image prune`, and after `rmi`). */
export function collectGarbage(images: ImageStore, content: FileContentStore, opts: PruneOptions = {}): Promise<PruneResult> {
  // roots are read under the content store's gc lock, after every lease visible then
  return content.prune(() => images.roots(), opts);
}
