// `load`: images from a docker-archive (manifest.json, as `docker save` and podman write; several
// images and tags), an oci-archive (a tar of an OCI image layout) or an OCI layout directory.
//
// Nothing is half-imported: every document is parsed and every blob is checked against its digest
// (and, for docker-archives, every layer against the config's diff_ids) before the first blob
// goes into the content store; names are given to the image store (onImage) only after all
// blobs are in.
import { createReadStream, statSync } from 'node:fs';
import { StorageError } from '../../storage/errors.js';
import { digestHex, printable } from '../../storage/paths.js';
import { MEDIA, type ContentStore, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../types.js';
import { blobFacts, openLayoutDir, openTarArchive, type ArchiveFiles, type ArchiveLimits } from './files.js';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Gives a name to an image in the image store (ref undefined: an untagged image). */
export type ImageCallback = (ref: string | undefined, manifest: Descriptor) => void | Promise<void>;

export interface LoadOptions {
  limits?: Partial<ArchiveLimits>;
  /** Where a tar archive is unpacked while it is checked (default: the OS temp dir). */
  tmpDir?: string;
  /** Keeps the new blobs from garbage collection until names point at them (FileContentStore.lease()). */
  lease?: { add(...digests: string[]): Promise<void> };
}

export interface LoadedImage {
  /** The names the archive gives it (as written: "busybox:latest", or a full reference). */
  refs: string[];
  manifest: Descriptor;
  format: 'docker-archive' | 'oci';
}

interface PlannedBlob {
  digest: string;
  size: number;
  /** a file of the archive, or bytes made here (a manifest for a docker-archive image) */
  file?: string;
  data?: Buffer;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function parseJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (e) {
    throw new StorageError('FORMAT', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

const isDigest = (d: unknown): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d);

function checkConfig(c: unknown, what: string): ImageConfig {
  const cfg = c as ImageConfig;
  if (typeof cfg !== 'object' || cfg === null || typeof cfg.rootfs !== 'object' || cfg.rootfs === null || !Array.isArray(cfg.rootfs.diff_ids))
    throw new StorageError('FORMAT', `${what}: rootfs.diff_ids is missing`);
  for (const d of cfg.rootfs.diff_ids) if (!isDigest(d)) throw new StorageError('FORMAT', `${what}: diff_id "${printable(String(d))}" is not a sha256 digest`);
  return cfg;
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const x = d as Descriptor;
  if (typeof x !== 'object' || x === null || typeof x.mediaType !== 'string' || !isDigest(x.digest) || !Number.isSafeInteger(x.size) || x.size < 0)
    throw new StorageError('FORMAT', `${what}: a descriptor needs mediaType, a sha256 digest and a size`);
  return x;
}

export function layerMediaType(compression: 'gzip' | 'zstd' | 'none'): string {
  return compression === 'gzip' ? MEDIA.ociLayerGzip : compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayer;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function planDockerArchive(files: ArchiveFiles, blobs: Map<string, PlannedBlob>): Promise<LoadedImage[]> {
  const entries = parseJson<DockerManifestEntry[]>(files.readSmall('manifest.json', 'manifest.json'), 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw new StorageError('FORMAT', 'manifest.json: expected a non-empty list of images');
  const images: LoadedImage[] = [];
  const layerCache = new Map<string, Awaited<ReturnType<typeof blobFacts>>>();
  for (const [i, e] of entries.entries()) {
    const what = `manifest.json image ${i}`;
    if (typeof e !== 'object' || e === null || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string'))
      throw new StorageError('FORMAT', `${what}: needs Config and Layers`);
    const refs = e.RepoTags ?? [];
    if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string' || r.length > 4096)) throw new StorageError('FORMAT', `${what}: RepoTags must be a list of names`);
    const configBytes = files.readSmall(e.Config, `config of ${what}`);
    const config = checkConfig(parseJson(configBytes, `config ${e.Config}`), `config ${e.Config}`);
    if (config.rootfs.diff_ids.length !== e.Layers.length)
      throw new StorageError('FORMAT', `${what}: ${e.Layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`);
    const configDigest = sha256(configBytes);
    blobs.set(configDigest, { digest: configDigest, size: configBytes.length, data: configBytes });
    const layers: Descriptor[] = [];
    for (const [j, l] of e.Layers.entries()) {
      const file = files.file(l, `layer ${j} of ${what}`);
      let facts = layerCache.get(file);
      if (!facts) {
        facts = await blobFacts(file, { diffId: true });
        layerCache.set(file, facts);
      }
      if (facts.diffId !== config.rootfs.diff_ids[j])
        throw new StorageError('DIGEST', `${what}: layer ${l} is ${facts.diffId}, but the config says ${config.rootfs.diff_ids[j]} (corrupt or tampered archive)`);
      blobs.set(facts.digest, { digest: facts.digest, size: facts.size, file });
      layers.push({ mediaType: layerMediaType(facts.compression), digest: facts.digest, size: facts.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const mBytes = Buffer.from(JSON.stringify(manifest));
    const mDigest = sha256(mBytes);
    blobs.set(mDigest, { digest: mDigest, size: mBytes.length, data: mBytes });
    images.push({ refs, manifest: { mediaType: MEDIA.ociManifest, digest: mDigest, size: mBytes.length }, format: 'docker-archive' });
  }
  return images;
}

const blobName = (digest: string) => `blobs/sha256/${digestHex(digest)}`;

async function planOciLayout(files: ArchiveFiles, blobs: Map<string, PlannedBlob>, lim: { maxJsonBytes: number }): Promise<LoadedImage[]> {
  if (files.has('oci-layout')) {
    const v = parseJson<{ imageLayoutVersion?: string }>(files.readSmall('oci-layout', 'oci-layout'), 'oci-layout');
    if (typeof v.imageLayoutVersion !== 'string' || !v.imageLayoutVersion.startsWith('1.')) throw new StorageError('FORMAT', `oci-layout: unsupported version "${printable(String(v.imageLayoutVersion))}"`);
  }
  const index = parseJson<ImageIndex>(files.readSmall('index.json', 'index.json'), 'index.json');
  if (!Array.isArray(index.manifests)) throw new StorageError('FORMAT', 'index.json: manifests is missing');
  const checked = new Set<string>();
  const addBlob = async (d: Descriptor, what: string) => {
    if (checked.has(d.digest)) return;
    const name = blobName(d.digest);
    if (!files.has(name)) throw new StorageError('NOT_FOUND', `${what}: blob ${d.digest} is missing from the archive`);
    const file = files.file(name, what);
    const facts = await blobFacts(file);
    if (facts.digest !== d.digest) throw new StorageError('DIGEST', `${what}: blob ${name} is ${facts.digest}, not ${d.digest} (corrupt or tampered archive)`);
    if (facts.size !== d.size) throw new StorageError('DIGEST', `${what}: blob ${d.digest} is ${facts.size} bytes, its descriptor says ${d.size}`);
    checked.add(d.digest);
    blobs.set(d.digest, { digest: d.digest, size: d.size, file });
  };
  const readDoc = async <T>(d: Descriptor, what: string): Promise<T> => {
    if (d.size > lim.maxJsonBytes) throw new StorageError('LIMIT', `${what}: ${d.size} bytes, over the ${lim.maxJsonBytes}-byte cap`);
    await addBlob(d, what);
    return parseJson<T>(files.readSmall(blobName(d.digest), what), what);
  };
  const walk = async (d: Descriptor, what: string, depth: number): Promise<void> => {
    if (depth > 4) throw new StorageError('FORMAT', `${what}: indexes nested too deep`);
    if (d.mediaType === MEDIA.ociIndex || d.mediaType === MEDIA.dockerManifestList) {
      const idx = await readDoc<ImageIndex>(d, what);
      if (!Array.isArray(idx.manifests)) throw new StorageError('FORMAT', `${what}: manifests is missing`);
      for (const [i, m] of idx.manifests.entries()) {
        const child = checkDescriptor(m, `${what} manifest ${i}`);
        // an index may list platforms the archive does not carry: skip those, as skopeo does
        if (!files.has(blobName(child.digest))) continue;
        await walk(child, `${what} > ${child.digest.slice(7, 19)}`, depth + 1);
      }
      return;
    }
    if (d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest) {
      const m = await readDoc<ImageManifest>(d, what);
      const config = checkDescriptor(m.config, `${what} config`);
      if (!Array.isArray(m.layers)) throw new StorageError('FORMAT', `${what}: layers is missing`);
      checkConfig(await readDoc(config, `${what} config`), `${what} config`);
      for (const [i, l] of m.layers.entries()) await addBlob(checkDescriptor(l, `${what} layer ${i}`), `${what} layer ${i}`);
      return;
    }
    throw new StorageError('FORMAT', `${what}: unsupported media type "${printable(d.mediaType)}"`);
  };
  const images: LoadedImage[] = [];
  for (const [i, m] of index.manifests.entries()) {
    const d = checkDescriptor(m, `index.json manifest ${i}`);
    await walk(d, `index.json manifest ${i}`, 0);
    const ann = d.annotations ?? {};
    const ref = ann['io.containerd.image.name'] ?? ann['org.opencontainers.image.ref.name'];
    const desc: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
    if (d.platform) desc.platform = d.platform;
    images.push({ refs: typeof ref === 'string' ? [ref] : [], manifest: desc, format: 'oci' });
  }
  return images;
}

/**
 * Loads the images of an archive (a path to a tar file or an OCI layout directory, or a stream of
 * a tar) into the content store, then names them through onImage. Returns what was loaded.
 */
export async function loadArchive(source: string | Readable, store: ContentStore, onImage: ImageCallback, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const lim = { maxJsonBytes: 8 << 20, ...opts.limits };
  const isDir = typeof source === 'string' && statSync(source).isDirectory();
  const files = isDir ? openLayoutDir(source as string, opts.limits) : await openTarArchive(source, opts.limits, opts.tmpDir);
  try {
    const blobs = new Map<string, PlannedBlob>();
    let images: LoadedImage[];
    if (files.has('manifest.json')) images = await planDockerArchive(files, blobs);
    else if (files.has('index.json')) images = await planOciLayout(files, blobs, lim);
    else throw new StorageError('FORMAT', 'not an image archive: no manifest.json (docker-archive) or index.json (OCI layout)');
    // everything checked: store the blobs, then name the images
    await opts.lease?.add(...blobs.keys());
    for (const b of blobs.values()) {
      if (store.has(b.digest)) continue;
      if (b.data) store.put(b.data, b.digest);
      else await store.ingest(createReadStream(b.file!, { highWaterMark: 1 << 20 }), { digest: b.digest, size: b.size });
    }
    for (const img of images) {
      if (img.refs.length === 0) await onImage(undefined, img.manifest);
      for (const r of img.refs) await onImage(r, img.manifest);
    }
    return images;
  } finally {
    files.cleanup();
  }
}
