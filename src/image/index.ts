// Images: references, the content store, the image store, manifests, platforms and GC.
// The registry client is in ./registry/ (imported separately: it loads undici).
export * from './types.js';
export * from './errors.js';
export * from './reference.js';
export { digestOf, parseDigest, isDigest, shortId, type DigestAlgorithm } from './digest.js';
export { FileContentStore, openContentStore, bufferSource, type BlobSource, type Lease, type PruneResult, type PruneOptions, type BlobInfo } from './content-store.js';
export { ImageStore, type ImageSummary, type ImageInspect, type HistoryItem, type RemoveResult, type InUseHook } from './image-store.js';
export {
  parseManifest, parseImageManifest, parseImageIndex, parseImageConfig, selectManifest, checkConfigMatchesManifest,
  configPlatform, LIMITS, MANIFEST_ACCEPT, type ParsedManifest,
} from './manifest.js';
export { hostPlatform, parsePlatform, formatPlatform, normalizePlatform, platformMatches } from './platform.js';
export { collectGarbage } from './gc.js';
export { formatImageTable, imageTableRows, humanSize, humanDuration } from './format.js';
