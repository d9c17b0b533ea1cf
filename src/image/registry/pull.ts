// pull: reference -> manifest (an index picks this platform's) -> config and layers into the
// content store (three at a time, each verified, resumed and retried) -> a name in the image
// store. A lease keeps the new blobs from a concurrent prune until the name exists.
import type { Descriptor, ImageConfig, ImageManifest, ImageRecord, Platform } from '../types.js';
import type { FileContentStore } from '../content-store.js';
import type { ImageStore } from '../image-store.js';
import { ImageError, ManifestError } from '../errors.js';
import { shortId } from '../digest.js';
import { checkConfigMatchesManifest, configPlatform, parseImageConfig, selectManifest } from '../manifest.js';
import { familiarString, formatReference, parseReference, type Reference } from '../reference.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from '../platform.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { runLimited } from './pool.js';
import type { ProgressCallback } from './progress.js';

export interface PullOptions extends RegistryClientOptions {
  /** The platform to pull from an index ("linux/arm64" or a Platform); default this host's. */
  platform?: Platform | string;
  onProgress?: ProgressCallback;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
  /** Reuse a client (its tokens and connections). */
  client?: RegistryClient;
}

export interface PullResult {
  /** The normalised name now in the image store. */
  name: string;
  record: ImageRecord;
  /** Digest of what the reference resolved to (the index for multi-platform images). */
  digest: string;
  /** Blobs downloaded (0 when everything was already here). */
  downloaded: number;
  /** docker's closing status line. */
  status: string;
}

export interface Stores {
  content: FileContentStore;
  images: ImageStore;
}

function toPlatform(p: Platform | string | undefined): Platform | undefined {
  return typeof p === 'string' ? parsePlatform(p) : p;
}

export async function pull(reference: string | Reference, stores: Stores, opts: PullOptions = {}): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const { content, images } = stores;
  const explicit = toPlatform(opts.platform);
  const platform = explicit ?? hostPlatform();
  const progress = opts.onProgress ?? (() => {});
  const client = opts.client ?? new RegistryClient(ref.domain, opts);
  const repo = ref.path;
  const name = ref.digest ? formatReference({ domain: ref.domain, path: ref.path, digest: ref.digest }) : formatReference(ref);
  const lease = await content.lease();
  let downloaded = 0;
  try {
    const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
    // after the manifest, as docker: a name the registry does not have prints no "Pulling from"
    progress({ kind: 'message', text: `${ref.digest ?? ref.tag}: Pulling from ${ref.path}` });
    await lease.add(top.digest);
    if (!content.has(top.digest)) {
      content.put(top.bytes, top.digest);
      downloaded++;
    }
    let manifest: ImageManifest;
    let manifestDesc: Descriptor;
    if (top.parsed.kind === 'index') {
      const chosen = selectManifest(top.parsed.index, platform);
      const m = await client.getManifest(repo, chosen.digest);
      if (m.parsed.kind !== 'manifest') throw new ManifestError(`${chosen.digest}: an index inside an index is not supported`);
      if (m.bytes.length !== chosen.size) throw new ManifestError(`${chosen.digest}: the index says ${chosen.size} bytes, the registry sent ${m.bytes.length}`);
      await lease.add(m.digest);
      if (!content.has(m.digest)) {
        content.put(m.bytes, m.digest);
        downloaded++;
      }
      manifest = m.parsed.manifest;
      manifestDesc = { ...m.descriptor, platform: chosen.platform! };
    } else {
      manifest = top.parsed.manifest;
      manifestDesc = top.descriptor;
    }
    await lease.add(manifest.config.digest, ...manifest.layers.map((l) => l.digest));

    // the config first: it says which platform this is and how many layers to expect
    const cfgDesc = manifest.config;
    if (!content.has(cfgDesc.digest)) {
      if (cfgDesc.size > 8 * 1024 * 1024) throw new ManifestError(`config ${cfgDesc.digest} is ${cfgDesc.size} bytes: too large`);
      await client.fetchBlob(content, repo, cfgDesc);
      downloaded++;
    }
    const config: ImageConfig = parseImageConfig(content.read(cfgDesc.digest));
    checkConfigMatchesManifest(config, manifest, familiarString(ref));
    if (explicit && top.parsed.kind === 'manifest' && !platformMatches(explicit, configPlatform(config))) {
      throw new ImageError(
        `${familiarString(ref)} is for ${formatPlatform(configPlatform(config))}, not the requested ${formatPlatform(explicit)}`,
        'platform_mismatch',
      );
    }

    // layers: three at a time; identical layers listed twice are fetched once
    const layers = manifest.layers.filter((l, i, a) => a.findIndex((x) => x.digest === l.digest) === i);
    for (const l of layers) {
      const id = shortId(l.digest);
      progress({ kind: 'layer', id, digest: l.digest, status: content.has(l.digest) ? 'exists' : 'waiting', total: l.size });
    }
    await runLimited(layers, opts.concurrency ?? 3, async (l) => {
      if (content.has(l.digest)) return;
      const id = shortId(l.digest);
      const ev = { kind: 'layer' as const, id, digest: l.digest, total: l.size };
      progress({ ...ev, status: 'downloading', current: content.partialSize(l.digest) });
      await client.fetchBlob(content, repo, l, {
        onProgress: (n) => {
          progress({ ...ev, status: n >= l.size ? 'verifying' : 'downloading', current: n });
        },
        onRetry: (e, attempt) => progress({ ...ev, status: 'retrying', detail: `attempt ${attempt + 1}: ${(e as Error).message}` }),
      });
      downloaded++;
      progress({ ...ev, status: 'done', current: l.size });
    });

    const before = images.get(name);
    const record = await images.set(name, top.descriptor, { platform });
    const fresh = downloaded > 0 || before?.target.digest !== top.digest;
    const shown = familiarString(ref.digest ? { domain: ref.domain, path: ref.path, digest: ref.digest } : ref);
    progress({ kind: 'message', text: `Digest: ${top.digest}` });
    const status = fresh ? `Downloaded newer image for ${shown}` : `Image is up to date for ${shown}`;
    progress({ kind: 'message', text: `Status: ${status}` });
    if (manifestDesc.platform === undefined && !platformMatches(platform, configPlatform(config)) && !explicit) {
      progress({ kind: 'message', text: `WARNING: the image's platform (${formatPlatform(configPlatform(config))}) does not match this host's (${formatPlatform(platform)})` });
    }
    return { name, record, digest: top.digest, downloaded, status };
  } finally {
    await lease.release();
    if (!opts.client) await client.close();
  }
}
