// `import`: a root filesystem tarball (plain or compressed) as a one-layer image; `export`: a
// container's file system as a tar stream.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { StorageError } from '../../storage/errors.js';
import { sharedHelper } from '../../storage/helper.js';
import { newWalkContext, walkTree } from '../../storage/diff/walk.js';
import type { Snapshotter } from '../../storage/snapshotters/types.js';
import { readTar } from '../../storage/tar/reader.js';
import { writeTar } from '../../storage/tar/writer.js';
import { decompress } from '../../storage/unpack/decompress.js';
import { MEDIA, type ContentStore, type Descriptor, type ImageConfig, type ImageManifest } from '../types.js';
import type { ImageCallback } from './load.js';

export interface ImportOptions {
  /** Name for the image store (onImage is called with it). */
  ref?: string;
  onImage?: ImageCallback;
  /** Image settings (Env, Cmd, WorkingDir, ...). */
  config?: ImageConfig['config'];
  architecture?: string;
  /** History comment (docker: --message). */
  comment?: string;
  /** Cap on the uncompressed tarball (default 64 GiB). */
  maxBytes?: number;
  tmpDir?: string;
}

export interface ImportResult {
  manifest: Descriptor;
  config: Descriptor;
  diffId: string;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Imports a rootfs tarball as a one-layer image (its layer stored gzip-compressed). */
export async function importRootfs(source: string | Readable, store: ContentStore, opts: ImportOptions = {}): Promise<ImportResult> {
  const max = opts.maxBytes ?? 64 * 2 ** 30;
  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'berth-import-'));
  try {
    // 1. uncompressed copy + diff_id
    const tarPath = join(dir, 'layer.tar');
    const h = createHash('sha256');
    let size = 0;
    const fd = openSync(tarPath, 'wx', 0o600);
    try {
      const input: AsyncIterable<Buffer> = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
      for await (const c of decompress(input)) {
        size += c.length;
        if (size > max) throw new StorageError('LIMIT', `import: more than ${max} uncompressed bytes`);
        h.update(c);
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off, c.length - off);
      }
    } finally {
      closeSync(fd);
    }
    const diffId = `sha256:${h.digest('hex')}`;
    // 2. it must be a readable tar (paths are contained later, when unpacked)
    for await (const _ of readTar(createReadStream(tarPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)) {
      /* bodies are skipped by the reader */
    }
    // 3. the compressed layer into the content store
    const layerDigest = await store.ingest(pipeline(createReadStream(tarPath, { highWaterMark: 1 << 20 }), createGzip(), () => {}));
    const layerSize = statSync(store.path(layerDigest)).size;
    const created = new Date().toISOString();
    const config: ImageConfig = {
      architecture: opts.architecture ?? GOARCH[process.arch] ?? process.arch,
      os: 'linux',
      created,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'berth import', ...(opts.comment ? { comment: opts.comment } : {}) }],
    };
    if (opts.config) config.config = opts.config;
    const cBytes = Buffer.from(JSON.stringify(config));
    const cDigest = store.put(cBytes, sha256(cBytes));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: cDigest, size: cBytes.length },
      layers: [{ mediaType: MEDIA.ociLayerGzip, digest: layerDigest, size: layerSize }],
    };
    const mBytes = Buffer.from(JSON.stringify(manifest));
    const mDigest = store.put(mBytes, sha256(mBytes));
    const desc: Descriptor = { mediaType: MEDIA.ociManifest, digest: mDigest, size: mBytes.length };
    if (opts.onImage) await opts.onImage(opts.ref, desc);
    return { manifest: desc, config: manifest.config, diffId };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A directory tree (a container's root filesystem) as a tar stream. */
export function exportFilesystem(dir: string): Readable {
  return Readable.from(writeTar(walkTree(newWalkContext(sharedHelper()), dir)), { objectMode: false });
}

/** A container's merged file system as a tar stream (mounting it again if needed). */
export async function exportContainer(snap: Snapshotter, id: string): Promise<Readable> {
  const m = await snap.mountContainer(id);
  return exportFilesystem(m.path);
}
