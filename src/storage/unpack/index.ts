// Streaming layer unpacking: blob -> decompress (gzip/zstd/plain, by magic) -> sha256 of the
// uncompressed stream (the diff_id, checked against the image config) -> tar entries -> the
// layer directory. Callers unpack into a temporary directory and rename it into place only
// after this resolves (see the snapshotters): a half-unpacked or unverified layer is never used.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StorageError } from '../errors.js';
import { sharedHelper, type FsHelper } from '../helper.js';
import { readTar, type TarReadLimits } from '../tar/reader.js';
import { LayerApplier, type ApplyStats } from './apply.js';
import { decompress, type Compression } from './decompress.js';
import { OVERLAY_OPAQUE_XATTR } from './whiteout.js';
import { hostRoot, inUserNamespace, USER_OPAQUE_XATTR } from '../rootless.js';
import type { WhiteoutMode } from './whiteout.js';

export { classifyWhiteout, WH_OPAQUE, WH_PREFIX, OVERLAY_OPAQUE_XATTR, type WhiteoutMode } from './whiteout.js';

export interface UnpackLimits extends TarReadLimits {
  /** Cap on the uncompressed stream (default 64 GiB): a tar or gzip bomb stops here. */
  maxTotalBytes: number;
  /** Cap on the number of entries (default 4 million). */
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxHeaderBytes: 1 << 20,
  maxEntrySize: 16 * 2 ** 30,
  maxPathBytes: 4096,
  maxTotalBytes: 64 * 2 ** 30,
  maxEntries: 4_000_000,
};

export interface UnpackOptions {
  /** A blob path or a stream of the (possibly compressed) layer. */
  source: string | Readable | AsyncIterable<Buffer>;
  /** The directory to unpack into (it must exist and be private to the caller). */
  dest: string;
  /** 'overlay' keeps whiteouts as overlay whiteouts; 'apply' deletes from a copied parent. */
  mode: WhiteoutMode;
  /** The diff_id from the image config: unpacking fails when the stream does not match. */
  expectedDiffId?: string;
  limits?: Partial<UnpackLimits>;
  /** The opaque-directory xattr (default: trusted.overlay.opaque; user.overlay.opaque inside a user namespace). */
  opaqueXattr?: string;
  /** Defaults: true when running as root of the host. */
  sameOwner?: boolean;
  devices?: boolean;
  /** The syscall helper (default: the process's shared one). */
  helper?: FsHelper;
}

export interface UnpackResult {
  diffId: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  compression: Compression;
  stats: ApplyStats;
}

export async function unpackLayer(o: UnpackOptions): Promise<UnpackResult> {
  const lim = { ...DEFAULT_UNPACK_LIMITS, ...o.limits };
  const root = hostRoot(); // in a user namespace: no foreign owners, no device nodes
  const helper = o.helper ?? sharedHelper();
  const hash = createHash('sha256');
  let size = 0;
  let compression: Compression = 'none';
  const source: AsyncIterable<Buffer> = typeof o.source === 'string' ? createReadStream(o.source, { highWaterMark: 1 << 20 }) : o.source;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of decompress(source, (c) => (compression = c))) {
      size += chunk.length;
      if (size > lim.maxTotalBytes) throw new StorageError('LIMIT', `layer: more than ${lim.maxTotalBytes} uncompressed bytes`);
      hash.update(chunk);
      yield chunk;
    }
  }
  const opaqueXattr = o.opaqueXattr ?? (inUserNamespace() ? USER_OPAQUE_XATTR : OVERLAY_OPAQUE_XATTR);
  const applier = new LayerApplier({ root: o.dest, mode: o.mode, helper, sameOwner: o.sameOwner ?? root, devices: o.devices ?? root, opaqueXattr });
  try {
    for await (const { header, body } of readTar(counted(), lim)) {
      if (applier.stats.entries >= lim.maxEntries) throw new StorageError('LIMIT', `layer: more than ${lim.maxEntries} entries`);
      await applier.apply(header, body);
    }
    await applier.finish();
  } finally {
    if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (o.expectedDiffId !== undefined && diffId !== o.expectedDiffId)
    throw new StorageError('DIGEST', `layer content is ${diffId}, but the image config says ${o.expectedDiffId} (corrupt or tampered layer)`);
  return { diffId, size, compression, stats: applier.stats };
}
