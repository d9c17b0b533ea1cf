// The image store: names (normalised references) -> what they point to in the content store.
//
// One JSON file, <root>/images.json, replaced atomically (temp + fsync + rename) under a
// cross-process lock; readers never need the lock. Image IDs are config digests, as in docker.
// The store answers docker's questions: images (list), image inspect, history, tag, rmi.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor, ImageConfig, ImageManifest, ImageRecord, Platform } from './types.js';
import type { FileContentStore } from './content-store.js';
import { BlobNotFoundError, ImageConflictError, ImageError, ImageNotFoundError } from './errors.js';
import { processAlive, writeFileAtomic } from './fsutil.js';
import { withLock } from './lock.js';
import { shortId } from './digest.js';
import {
  familiarRepository, familiarString, formatReference, parseReference, repositoryName, type Reference,
} from './reference.js';
import { isIndexType, isManifestType, parseImageConfig, parseManifest, selectManifest } from './manifest.js';
import { hostPlatform } from './platform.js';

/** Returns a container's id or name when a container uses the image (rmi then refuses). */
export type InUseHook = (imageId: string) => boolean | string | undefined;

export interface ImageStoreOptions {
  inUse?: InUseHook;
  /** Size of an image on disk once unpacked (the storage layer knows); default: compressed size. */
  unpackedSize?: (rec: ImageRecord) => number | undefined;
}

/** docker's /images/json entry. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** docker's /images/{name}/json (image inspect). */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** berth extras: what the image is made of. */
  Descriptor: Descriptor;
  Manifest: Descriptor;
}

/** docker's /images/{name}/history entry (newest first). */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** docker's /images/{name} DELETE result entries. */
export type RemoveResult = { Untagged: string } | { Deleted: string };

interface FileShape {
  version: 1;
  images: Record<string, ImageRecord>;
}

const HEX_PREFIX_RE = /^(?:sha256:)?([a-f0-9]{1,64})$/;

export class ImageStore {
  /** Set by the engine: rmi refuses to delete an image while this names a user. */
  inUse: InUseHook;
  unpackedSize: ((rec: ImageRecord) => number | undefined) | undefined;
  readonly file: string;
  private cache: { text: string; images: Record<string, ImageRecord> } | undefined;
  private readonly configs = new Map<string, ImageConfig>();

  constructor(readonly root: string, readonly content: FileContentStore, opts: ImageStoreOptions = {}) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    this.file = join(root, 'images.json');
    this.inUse = opts.inUse ?? (() => false);
    this.unpackedSize = opts.unpackedSize;
    this.repair();
  }

  /** Removes temp files that a writer killed between write and rename left behind. */
  repair(): string[] {
    const removed: string[] = [];
    for (const n of readdirSync(this.root)) {
      const m = /^\.images\.json\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n);
      if (m && !processAlive(Number(m[1]), undefined)) {
        rmSync(join(this.root, n), { force: true });
        removed.push(n);
      }
    }
    return removed;
  }

  private load(): Record<string, ImageRecord> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    if (this.cache?.text === text) return this.cache.images;
    let parsed: FileShape;
    try {
      parsed = JSON.parse(text) as FileShape;
    } catch (e) {
      throw new ImageError(`${this.file} is corrupt (${(e as Error).message}); restore it or remove it and pull again`, 'corrupt_store');
    }
    if (parsed.version !== 1 || typeof parsed.images !== 'object' || parsed.images === null) {
      throw new ImageError(`${this.file}: unknown format version ${String(parsed.version)}`, 'corrupt_store');
    }
    this.cache = { text, images: parsed.images };
    return parsed.images;
  }

  /** Read-modify-write under the store's lock. */
  private async mutate<T>(fn: (images: Record<string, ImageRecord>) => T): Promise<T> {
    return withLock(this.file, () => {
      const images = { ...this.load() };
      const out = fn(images);
      const text = JSON.stringify({ version: 1, images } satisfies FileShape, null, 1);
      writeFileAtomic(this.file, text, 0o600);
      this.cache = { text, images };
      return out;
    });
  }

  /** Every record (one per name). */
  records(): ImageRecord[] {
    return Object.values(this.load());
  }

  /** The record of exactly this name (normalised on the way in). */
  get(name: string | Reference): ImageRecord | undefined {
    const key = typeof name === 'string' ? formatReference(parseReference(name)) : formatReference(name);
    return this.load()[key];
  }

  /** Descriptors that keep content alive (what GC walks from). */
  roots(): Descriptor[] {
    const out: Descriptor[] = [];
    for (const r of this.records()) out.push(r.target, r.manifest, r.config);
    return out;
  }

  /** The parsed config of a record (cached by digest: configs are immutable). */
  config(rec: ImageRecord): ImageConfig {
    let c = this.configs.get(rec.config.digest);
    if (!c) {
      c = parseImageConfig(this.content.read(rec.config.digest));
      this.configs.set(rec.config.digest, c);
    }
    return c;
  }

  manifest(rec: ImageRecord): ImageManifest {
    const p = parseManifest(this.content.read(rec.manifest.digest), rec.manifest.mediaType);
    if (p.kind !== 'manifest') throw new ImageError(`${rec.manifest.digest} is not a manifest`, 'corrupt_store');
    return p.manifest;
  }

  /**
   * Finds an image the way docker does: a name (`busybox`, `repo@sha256:..`), a full ID
   * (`sha256:<hex>`) or a unique ID prefix. Returns its ID and the records that name it.
   */
  resolve(refOrId: string): { id: string; records: ImageRecord[]; byName?: ImageRecord } {
    const images = this.load();
    const all = Object.values(images);
    const byId = (id: string) => all.filter((r) => r.config.digest === id);
    const full = /^sha256:[a-f0-9]{64}$/.test(refOrId) ? refOrId : undefined;
    if (full) {
      const recs = byId(full);
      if (recs.length) return { id: full, records: recs };
      throw new ImageNotFoundError(refOrId);
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(refOrId);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const exact = images[formatReference(ref)];
      if (exact) return { id: exact.config.digest, records: byId(exact.config.digest), byName: exact };
      if (ref.digest) {
        // a repo digest of an image pulled by tag
        const repo = repositoryName(ref);
        const hit = all.find((r) => repositoryName(parseReference(r.name)) === repo && (r.target.digest === ref!.digest || r.manifest.digest === ref!.digest));
        if (hit) return { id: hit.config.digest, records: byId(hit.config.digest) };
      }
    }
    const m = HEX_PREFIX_RE.exec(refOrId);
    if (m) {
      const ids = [...new Set(all.map((r) => r.config.digest).filter((id) => id.slice(7).startsWith(m[1]!)))];
      if (ids.length > 1) throw new ImageConflictError(`the ID prefix "${refOrId}" is ambiguous: it matches ${ids.length} images`);
      if (ids.length === 1) return { id: ids[0]!, records: byId(ids[0]!) };
    }
    throw new ImageNotFoundError(refOrId);
  }

  /** Resolves a target descriptor to (manifest, config) for this platform, from stored content. */
  resolveTarget(target: Descriptor, platform: Platform = hostPlatform()): { manifest: Descriptor; config: Descriptor } {
    if (!this.content.has(target.digest)) throw new BlobNotFoundError(target.digest);
    let manifestDesc = target;
    if (isIndexType(target.mediaType)) {
      const p = parseManifest(this.content.read(target.digest), target.mediaType);
      if (p.kind !== 'index') throw new ImageError(`${target.digest} is not an index`, 'invalid_manifest');
      manifestDesc = selectManifest(p.index, platform);
      if (!this.content.has(manifestDesc.digest)) throw new BlobNotFoundError(manifestDesc.digest);
    } else if (!isManifestType(target.mediaType)) {
      throw new ImageError(`cannot name a ${target.mediaType}: expected a manifest or an index`, 'invalid_manifest');
    }
    const p = parseManifest(this.content.read(manifestDesc.digest), manifestDesc.mediaType);
    if (p.kind !== 'manifest') throw new ImageError(`${manifestDesc.digest} is not a manifest`, 'invalid_manifest');
    if (!this.content.has(p.manifest.config.digest)) throw new BlobNotFoundError(p.manifest.config.digest);
    const manifest: Descriptor = { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size };
    if (manifestDesc.platform) manifest.platform = manifestDesc.platform;
    return { manifest, config: p.manifest.config };
  }

  /** Points a name at a manifest or index stored in the content store. */
  async set(name: string | Reference, target: Descriptor, opts: { platform?: Platform } = {}): Promise<ImageRecord> {
    const ref = typeof name === 'string' ? parseReference(name) : name;
    const { manifest, config } = this.resolveTarget(target, opts.platform);
    const rec: ImageRecord = {
      name: formatReference(ref),
      target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
      manifest,
      config,
      tagged: new Date().toISOString(),
    };
    await this.mutate((images) => {
      images[rec.name] = rec;
    });
    return rec;
  }

  /** `tag SOURCE TARGET`: the new name points where the source does. */
  async tag(source: string, target: string): Promise<ImageRecord> {
    const ref = parseReference(target);
    if (ref.digest) throw new ImageError(`refusing to create a tag with a digest reference: ${target}`, 'invalid_reference');
    const { records, byName } = this.resolve(source);
    const src = byName ?? records[0]!;
    const rec: ImageRecord = { ...src, name: formatReference(ref), tagged: new Date().toISOString() };
    await this.mutate((images) => {
      images[rec.name] = rec;
    });
    return rec;
  }

  /** Removes one name; false when it did not exist. The image's content stays until GC. */
  async untag(name: string): Promise<boolean> {
    const key = formatReference(parseReference(name));
    return this.mutate((images) => {
      if (!images[key]) return false;
      delete images[key];
      return true;
    });
  }

  private usedBy(id: string): string | undefined {
    const u = this.inUse(id);
    if (u === true) return 'a container';
    if (typeof u === 'string' && u) return `container ${u}`;
    return undefined;
  }

  /**
   * docker rmi: a name removes that name (and the image with its last name); an ID removes the
   * image (with `force` also when it has several repositories). Refuses while a container uses
   * an image it would delete. Blobs go at the next GC (gc.ts).
   */
  async remove(refOrId: string, opts: { force?: boolean } = {}): Promise<RemoveResult[]> {
    return withLock(`${this.file}.rmi`, async () => {
      const { id, records, byName } = this.resolve(refOrId);
      const results: RemoveResult[] = [];
      const familiar = (r: ImageRecord) => familiarString(parseReference(r.name));
      if (byName && records.length > 1) {
        await this.mutate((images) => {
          delete images[byName.name];
        });
        return [{ Untagged: familiar(byName) }];
      }
      if (!byName) {
        const repos = new Set(records.filter((r) => !r.name.includes('@')).map((r) => repositoryName(parseReference(r.name))));
        if (repos.size > 1 && !opts.force) {
          throw new ImageConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
        }
      }
      const user = this.usedBy(id);
      if (user) {
        throw new ImageConflictError(
          byName
            ? `conflict: unable to remove repository reference "${familiar(byName)}" - ${user} is using its referenced image ${shortId(id)}`
            : `conflict: unable to delete ${shortId(id)} - image is being used by ${user}`,
        );
      }
      await this.mutate((images) => {
        for (const r of records) {
          if (images[r.name]?.config.digest !== id) continue;
          delete images[r.name];
          results.push({ Untagged: familiar(r) });
        }
      });
      results.push({ Deleted: id });
      return results;
    });
  }

  private groups(): Map<string, ImageRecord[]> {
    const g = new Map<string, ImageRecord[]>();
    for (const r of this.records()) {
      const list = g.get(r.config.digest) ?? [];
      list.push(r);
      g.set(r.config.digest, list);
    }
    return g;
  }

  private size(rec: ImageRecord): number {
    const s = this.unpackedSize?.(rec);
    if (s !== undefined) return s;
    try {
      return rec.config.size + this.manifest(rec).layers.reduce((a, l) => a + l.size, 0);
    } catch {
      return 0;
    }
  }

  private repoTags(recs: ImageRecord[]): string[] {
    return recs.filter((r) => !r.name.includes('@')).map((r) => familiarString(parseReference(r.name))).sort();
  }

  private repoDigests(recs: ImageRecord[]): string[] {
    const out = new Set<string>();
    for (const r of recs) out.add(`${familiarRepository(parseReference(r.name))}@${r.target.digest}`);
    return [...out].sort();
  }

  /** `images`: one entry per image ID, newest first. */
  list(opts: { reference?: string } = {}): ImageSummary[] {
    const out: ImageSummary[] = [];
    for (const [id, recs] of this.groups()) {
      if (opts.reference) {
        const want = opts.reference;
        if (!recs.some((r) => matchesReference(r.name, want))) continue;
      }
      let created = 0;
      let labels: Record<string, string> | null = null;
      try {
        const c = this.config(recs[0]!);
        created = c.created ? Math.floor(Date.parse(c.created) / 1000) || 0 : 0;
        labels = c.config?.Labels ?? null;
      } catch {
        /* config missing: list it anyway */
      }
      out.push({
        Id: id, ParentId: '', RepoTags: this.repoTags(recs), RepoDigests: this.repoDigests(recs), Created: created,
        Size: this.size(recs[0]!), SharedSize: -1, Labels: labels, Containers: -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  /** `image inspect`, docker-shaped. */
  inspect(refOrId: string): ImageInspect {
    const { id, records, byName } = this.resolve(refOrId);
    const rec = byName ?? records[0]!;
    const c = this.config(rec) as ImageConfig & { variant?: string; 'os.version'?: string; comment?: string; docker_version?: string };
    const out: ImageInspect = {
      Id: id,
      RepoTags: this.repoTags(records),
      RepoDigests: this.repoDigests(records),
      Parent: '',
      Comment: c.comment ?? c.history?.at(-1)?.comment ?? '',
      Created: c.created ?? '',
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: dockerContainerConfig(c),
      Architecture: c.architecture,
      Os: c.os,
      Size: this.size(rec),
      RootFS: { Type: c.rootfs.type, Layers: [...c.rootfs.diff_ids] },
      Metadata: { LastTagTime: records.map((r) => r.tagged).sort().at(-1) ?? '' },
      Descriptor: rec.target,
      Manifest: rec.manifest,
    };
    if (c.variant) out.Variant = c.variant;
    if (c['os.version']) out.OsVersion = c['os.version'];
    return out;
  }

  /** `history`: newest first; layers get their (compressed) sizes, empty layers 0. */
  history(refOrId: string): HistoryItem[] {
    const { id, records, byName } = this.resolve(refOrId);
    const rec = byName ?? records[0]!;
    const c = this.config(rec);
    const layers = this.manifest(rec).layers;
    const items: HistoryItem[] = [];
    const hist = c.history?.length ? c.history : layers.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
    let li = 0;
    for (const h of hist) {
      const empty = h.empty_layer === true;
      const size = empty ? 0 : (layers[li++]?.size ?? 0);
      items.push({
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) || 0 : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      });
    }
    items.reverse();
    if (items[0]) {
      items[0].Id = id;
      const tags = this.repoTags(records);
      items[0].Tags = tags.length ? tags : null;
    }
    return items;
  }
}

/** Whether a stored name matches a filter like docker's `images busybox` / `images 'ns/*'`. */
function matchesReference(name: string, pattern: string): boolean {
  const ref = parseReference(name, { defaultTag: false });
  const candidates = [familiarString(ref), familiarRepository(ref), formatReference(ref), repositoryName(ref)];
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
  return candidates.some((c) => re.test(c));
}

/** The image config's `config` as docker's inspect shows it (every field present). */
function dockerContainerConfig(c: ImageConfig): Record<string, unknown> {
  const cc = c.config ?? {};
  return {
    Hostname: '', Domainname: '', User: cc.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ...(cc.ExposedPorts ? { ExposedPorts: cc.ExposedPorts } : {}),
    Tty: false, OpenStdin: false, StdinOnce: false,
    Env: cc.Env ?? null, Cmd: cc.Cmd ?? null,
    ...(cc.Healthcheck ? { Healthcheck: cc.Healthcheck } : {}),
    Image: '', Volumes: cc.Volumes ?? null, WorkingDir: cc.WorkingDir ?? '', Entrypoint: cc.Entrypoint ?? null,
    OnBuild: null, Labels: cc.Labels ?? null,
    ...(cc.StopSignal ? { StopSignal: cc.StopSignal } : {}),
  };
}
