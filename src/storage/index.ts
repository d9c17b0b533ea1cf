// Storage: layer unpacking, snapshotters (overlay, vfs, btrfs), disk quotas, diffs.
export * from './errors.js';
export * from './snapshotters/index.js';
export { unpackLayer, DEFAULT_UNPACK_LIMITS, type UnpackOptions, type UnpackResult, type UnpackLimits, type WhiteoutMode } from './unpack/index.js';
export { prepareImageLayers, chainIds, chainIdOf, type PrepareImageOptions } from './layers.js';
export { quotaSupport, pickQuota, type QuotaKind } from './quota/index.js';
export { readTar, type TarHeader, type TarItem } from './tar/reader.js';
export { writeTar, type TarWriteHeader, type TarWriteItem } from './tar/writer.js';
export { walkTree, newWalkContext } from './diff/walk.js';
export { FsHelper } from './helper.js';
