// `save`: images into a docker-archive (the layout `docker save` wrote before 25.0 and podman
// writes: <config hex>.json, <diff id hex>.tar uncompressed, manifest.json with RepoTags,
// repositories), an oci-archive (a tar of an OCI image layout, blobs as stored) or an OCI layout
// directory.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { StorageError } from '../../storage/errors.js';
import { digestHex } from '../../storage/paths.js';
import { writeTar, type TarWriteItem } from '../../storage/tar/writer.js';
import { decompress, sniffCompression } from '../../storage/unpack/decompress.js';
import { MEDIA, type ContentStore, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../types.js';

export interface SaveImage {
  /** A single-platform image manifest (the image store's `manifest`). */
  manifest: Descriptor;
  /** Names to record: docker-archive RepoTags ("busybox:latest"), OCI ref annotations. */
  refs: string[];
}

export type SaveFormat = 'docker-archive' | 'oci-archive';

const MTIME = 0;

function manifestOf(store: ContentStore, d: Descriptor): ImageManifest {
  if (d.mediaType !== MEDIA.ociManifest && d.mediaType !== MEDIA.dockerManifest)
    throw new StorageError('FORMAT', `save: ${d.digest} is a ${d.mediaType}, not an image manifest (save a platform's manifest)`);
  if (!store.has(d.digest)) throw new StorageError('NOT_FOUND', `save: manifest ${d.digest} is not in the content store`);
  return store.readJSON<ImageManifest>(d.digest);
}

function need(store: ContentStore, digest: string, what: string): string {
  if (!store.has(digest)) throw new StorageError('NOT_FOUND', `save: ${what} ${digest} is not in the content store`);
  return store.path(digest);
}

/** The first bytes of a file (to tell its compression). */
function headOf(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return b.subarray(0, readSync(fd, b, 0, 4, 0));
  } finally {
    closeSync(fd);
  }
}

/** Uncompressed size and diff_id of a layer blob (one pass). */
async function uncompressedFacts(path: string): Promise<{ size: number; diffId: string }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of decompress(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)) {
    h.update(c);
    size += c.length;
  }
  return { size, diffId: `sha256:${h.digest('hex')}` };
}

async function* dockerItems(images: SaveImage[], store: ContentStore): AsyncGenerator<TarWriteItem> {
  const written = new Set<string>();
  const manifestJson: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const img of images) {
    const m = manifestOf(store, img.manifest);
    const configPath = need(store, m.config.digest, 'config');
    const config = store.readJSON<ImageConfig>(m.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.layers.length) throw new StorageError('FORMAT', `save: image ${img.manifest.digest} has ${m.layers.length} layers and ${diffIds.length} diff_ids`);
    const configName = `${digestHex(m.config.digest)}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      yield { header: { name: configName, type: 'file', mode: 0o644, size: statSync(configPath).size, mtime: MTIME }, body: configPath };
    }
    const layerNames: string[] = [];
    for (const [i, l] of m.layers.entries()) {
      const diffId = diffIds[i]!;
      const name = `${digestHex(diffId)}.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      written.add(name);
      const blob = need(store, l.digest, 'layer');
      if (sniffCompression(headOf(blob)) === 'none') {
        yield { header: { name, type: 'file', mode: 0o644, size: statSync(blob).size, mtime: MTIME }, body: blob };
      } else {
        const facts = await uncompressedFacts(blob);
        if (facts.diffId !== diffId) throw new StorageError('DIGEST', `save: layer ${l.digest} uncompresses to ${facts.diffId}, not ${diffId}`);
        yield { header: { name, type: 'file', mode: 0o644, size: facts.size, mtime: MTIME }, body: decompress(createReadStream(blob, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) };
      }
    }
    manifestJson.push({ Config: configName, RepoTags: img.refs, Layers: layerNames });
    for (const r of img.refs) {
      const at = r.lastIndexOf(':');
      if (at > r.lastIndexOf('/')) (repositories[r.slice(0, at)] ??= {})[r.slice(at + 1)] = digestHex(diffIds[diffIds.length - 1] ?? m.config.digest);
    }
  }
  const mj = Buffer.from(JSON.stringify(manifestJson));
  yield { header: { name: 'manifest.json', type: 'file', mode: 0o644, size: mj.length, mtime: MTIME }, body: mj };
  const rj = Buffer.from(JSON.stringify(repositories));
  yield { header: { name: 'repositories', type: 'file', mode: 0o644, size: rj.length, mtime: MTIME }, body: rj };
}

function splitTag(ref: string): string | undefined {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') && !ref.includes('@') ? ref.slice(at + 1) : undefined;
}

interface LayoutPlan {
  blobs: { digest: string; path: string; size: number }[];
  index: ImageIndex;
}

function ociPlan(images: SaveImage[], store: ContentStore): LayoutPlan {
  const blobs = new Map<string, { digest: string; path: string; size: number }>();
  const add = (d: Descriptor, what: string) => {
    if (!blobs.has(d.digest)) blobs.set(d.digest, { digest: d.digest, path: need(store, d.digest, what), size: d.size });
  };
  const manifests: Descriptor[] = [];
  for (const img of images) {
    const m = manifestOf(store, img.manifest);
    add(img.manifest, 'manifest');
    add(m.config, 'config');
    for (const l of m.layers) add(l, 'layer');
    const base: Descriptor = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size };
    if (img.refs.length === 0) manifests.push(base);
    for (const r of img.refs) {
      const annotations: Record<string, string> = { 'io.containerd.image.name': r };
      const tag = splitTag(r);
      annotations['org.opencontainers.image.ref.name'] = tag ?? r;
      manifests.push({ ...base, annotations });
    }
  }
  return { blobs: [...blobs.values()], index: { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests } };
}

async function* ociItems(images: SaveImage[], store: ContentStore): AsyncGenerator<TarWriteItem> {
  const plan = ociPlan(images, store);
  const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  yield { header: { name: 'oci-layout', type: 'file', mode: 0o644, size: layout.length, mtime: MTIME }, body: layout };
  yield { header: { name: 'blobs/', type: 'dir', mode: 0o755, mtime: MTIME } };
  yield { header: { name: 'blobs/sha256/', type: 'dir', mode: 0o755, mtime: MTIME } };
  for (const b of plan.blobs) yield { header: { name: `blobs/sha256/${digestHex(b.digest)}`, type: 'file', mode: 0o644, size: statSync(b.path).size, mtime: MTIME }, body: b.path };
  const idx = Buffer.from(JSON.stringify(plan.index));
  yield { header: { name: 'index.json', type: 'file', mode: 0o644, size: idx.length, mtime: MTIME }, body: idx };
}

/** The images as a tar stream in the given format. Errors surface as stream errors. */
export function saveArchive(images: SaveImage[], store: ContentStore, format: SaveFormat): Readable {
  if (images.length === 0) throw new StorageError('FORMAT', 'save: no images');
  for (const img of images) manifestOf(store, img.manifest); // fail early on what is plainly wrong
  return Readable.from(writeTar(format === 'docker-archive' ? dockerItems(images, store) : ociItems(images, store)), { objectMode: false });
}

/** Writes the images as an OCI image layout directory (created if missing; blobs added). */
export function saveOciLayout(dir: string, images: SaveImage[], store: ContentStore): void {
  const plan = ociPlan(images, store);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of plan.blobs) {
    const to = join(dir, 'blobs', 'sha256', digestHex(b.digest));
    if (!existsSync(to)) copyFileSync(b.path, to);
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify(plan.index));
}
