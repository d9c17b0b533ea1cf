// push: a local name -> its blobs (skipped when the repository has them, mounted from another
// repository of the same registry when one is known to hold them, else uploaded monolithically
// or in chunks) -> config -> manifest(s) by digest -> the top manifest or index by tag.
import { createReadStream } from 'node:fs';
import type { Descriptor, ImageRecord } from '../types.js';
import { ImageError, ImageNotFoundError, ManifestError } from '../errors.js';
import { shortId } from '../digest.js';
import { isIndexType, parseManifest } from '../manifest.js';
import { familiarString, formatReference, parseReference, repositoryName, type Reference } from '../reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { runLimited } from './pool.js';
import type { BlobStatus, ProgressCallback } from './progress.js';
import type { Stores } from './pull.js';

export interface PushOptions extends RegistryClientOptions {
  onProgress?: ProgressCallback;
  /** Upload blobs larger than this in PATCH chunks of this size (default: monolithic PUTs). */
  chunkSize?: number;
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
  client?: RegistryClient;
}

export interface PushResult {
  name: string;
  /** Digest of the pushed manifest or index. */
  digest: string;
  size: number;
  /** Blobs uploaded / mounted / already there. */
  uploaded: number;
  mounted: number;
  existing: number;
}

function findRecord(stores: Stores, ref: Reference): ImageRecord {
  const rec = stores.images.get(ref);
  if (rec) return rec;
  if (ref.digest) {
    const repo = repositoryName(ref);
    const hit = stores.images.records().find((r) => repositoryName(parseReference(r.name)) === repo && r.target.digest === ref.digest);
    if (hit) return hit;
  }
  throw new ImageNotFoundError(`${familiarString(ref)} (tag an image with that name before pushing it)`);
}

/** Repositories on the same registry that hold each blob (candidates for a mount). */
function mountSources(stores: Stores, ref: Reference): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of stores.images.records()) {
    const other = parseReference(r.name);
    if (other.domain !== ref.domain || other.path === ref.path) continue;
    for (const d of stores.content.reachable([r.target])) {
      const list = out.get(d) ?? [];
      if (!list.includes(other.path)) list.push(other.path);
      out.set(d, list);
    }
  }
  return out;
}

export async function push(reference: string | Reference, stores: Stores, opts: PushOptions = {}): Promise<PushResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const { content } = stores;
  const rec = findRecord(stores, ref);
  const progress = opts.onProgress ?? (() => {});
  const client = opts.client ?? new RegistryClient(ref.domain, opts);
  const repo = ref.path;
  const result: PushResult = { name: formatReference(ref), digest: rec.target.digest, size: rec.target.size, uploaded: 0, mounted: 0, existing: 0 };
  try {
    progress({ kind: 'message', text: `The push refers to repository [${repositoryName(ref)}]` });
    const sources = mountSources(stores, ref);

    // what to push: one manifest, or every manifest of an index (all must be here)
    const manifests: Descriptor[] = [];
    if (isIndexType(rec.target.mediaType)) {
      const p = parseManifest(content.read(rec.target.digest), rec.target.mediaType);
      if (p.kind !== 'index') throw new ManifestError(`${rec.target.digest} is not an index`);
      for (const m of p.index.manifests) {
        if (!content.has(m.digest)) {
          throw new ImageError(
            `cannot push ${familiarString(ref)}: its index lists ${m.digest}${m.platform ? ` (${m.platform.os}/${m.platform.architecture})` : ''}, which is not stored here (pull every platform first)`,
            'incomplete_image',
          );
        }
        manifests.push(m);
      }
    } else {
      manifests.push(rec.target);
    }

    for (const mdesc of manifests) {
      const p = parseManifest(content.read(mdesc.digest), mdesc.mediaType);
      if (p.kind !== 'manifest') throw new ManifestError(`${mdesc.digest}: an index inside an index is not supported`);
      const blobs = [...p.manifest.layers, p.manifest.config].filter((b, i, a) => a.findIndex((x) => x.digest === b.digest) === i);
      for (const b of blobs) {
        if (!content.has(b.digest)) throw new ImageError(`cannot push ${familiarString(ref)}: blob ${b.digest} is missing from the content store`, 'incomplete_image');
      }
      const kindOf = (b: Descriptor): 'layer' | 'config' => (b === p.manifest.config ? 'config' : 'layer');
      for (const b of p.manifest.layers) progress({ kind: 'layer', id: shortId(b.digest), digest: b.digest, status: 'preparing', total: b.size });
      await runLimited(blobs, opts.concurrency ?? 3, async (b) => {
        const ev = { kind: kindOf(b), id: shortId(b.digest), digest: b.digest, total: b.size };
        const path = content.path(b.digest);
        const outcome = await client.http.withRetries(
          () =>
            client.uploadBlob(repo, b, (start, length) => createReadStream(path, { start, end: start + length - 1 }), {
              ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
              mountFrom: sources.get(b.digest) ?? [],
              onProgress: (n) => progress({ ...ev, status: 'pushing', current: n }),
            }),
          (e, attempt) => progress({ ...ev, status: 'retrying', detail: `attempt ${attempt + 1}: ${(e as Error).message}` }),
        );
        const status: BlobStatus = outcome === 'exists' ? 'remote-exists' : outcome === 'mounted' ? 'mounted' : 'pushed';
        if (outcome === 'exists') result.existing++;
        else if (outcome === 'mounted') result.mounted++;
        else result.uploaded++;
        progress({ ...ev, status, current: b.size, ...(outcome === 'mounted' ? { detail: sources.get(b.digest)?.[0] ?? '' } : {}) });
      });
      if (manifests.length > 1 || mdesc !== rec.target) {
        await client.putManifest(repo, mdesc.digest, content.read(mdesc.digest), mdesc.mediaType);
      }
    }
    const bytes = content.read(rec.target.digest);
    const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
    const digest = await client.putManifest(repo, tagOrDigest, bytes, rec.target.mediaType);
    if (digest !== rec.target.digest) throw new ImageError(`pushed manifest digest ${digest} differs from the stored ${rec.target.digest}`, 'digest_mismatch');
    progress({ kind: 'message', text: `${tagOrDigest}: digest: ${digest} size: ${bytes.length}` });
    return result;
  } finally {
    if (!opts.client) await client.close();
  }
}
