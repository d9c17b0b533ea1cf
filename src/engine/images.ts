// Images for the engine: the content store, the image store and the snapshotter under the
// engine's root, the embedded image `host`, and docker's merge of an image's config with the
// flags of `run`/`create`. Opened lazily: `--rootfs` containers never load any of it.
import { join } from 'node:path';
import { FileContentStore } from '../image/content-store.js';
import { ImageNotFoundError } from '../image/errors.js';
import { ImageStore } from '../image/image-store.js';
import type { ImageConfig, ImageRecord } from '../image/types.js';
import { familiarString, parseReference } from '../image/reference.js';
import { createSnapshotter, HOST_LOWER, type Snapshotter } from '../storage/snapshotters/index.js';
import { prepareImageLayers } from '../storage/layers.js';
import { invalid, notFound } from './errors.js';
import type { ContainerConfig } from './types.js';

/** The embedded image: the host's root file system, read-only, under a private writable layer. */
export const HOST_IMAGE = 'host';
/** Spec annotations recording where a container's root file system came from. */
export const ANN_IMAGE_ID = 'berth.image.id';
export const ANN_SNAPSHOT = 'berth.snapshot';

export type ImageSettings = NonNullable<ImageConfig['config']>;

export interface ResolvedImage {
  /** The image ID (config digest), or "host". */
  id: string;
  /** The name to show (familiar form). */
  name: string;
  settings: ImageSettings;
  /** Chain ids for prepareContainer (bottom first); [HOST_LOWER] for host. */
  chainIds: string[];
  record?: ImageRecord;
}

export const HOST_SETTINGS: ImageSettings = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] };

export class EngineImages {
  readonly content: FileContentStore;
  readonly images: ImageStore;
  private snap: Snapshotter | undefined;

  constructor(readonly root: string, inUse: (imageId: string) => string | undefined) {
    this.content = new FileContentStore(join(root, 'content'));
    this.images = new ImageStore(join(root, 'images'), this.content, { inUse });
  }

  get snapshotter(): Snapshotter {
    this.snap ??= createSnapshotter((process.env.BERTH_SNAPSHOTTER as 'overlay' | undefined) ?? 'auto', join(this.root, 'storage'));
    return this.snap;
  }

  /** The stored image named by ref (name, id or id prefix); undefined when not here. */
  find(ref: string): ImageRecord | undefined {
    try {
      const r = this.images.resolve(ref);
      return r.byName ?? r.records[0];
    } catch (e) {
      if (e instanceof ImageNotFoundError) return undefined;
      throw e;
    }
  }

  /** An image ready to run: its layers unpacked, its settings. */
  async prepare(ref: string, rec: ImageRecord | undefined): Promise<ResolvedImage> {
    if (ref === HOST_IMAGE && !rec) {
      if (this.snapshotter.kind !== 'overlay') throw invalid(`the embedded image "host" needs the overlay snapshotter (this host uses ${this.snapshotter.kind})`);
      return { id: HOST_IMAGE, name: HOST_IMAGE, settings: HOST_SETTINGS, chainIds: [HOST_LOWER] };
    }
    if (!rec) throw notFound(`No such image: ${ref}`);
    const manifest = this.images.manifest(rec);
    const config = this.images.config(rec);
    const chainIds = await prepareImageLayers(this.snapshotter, this.content, manifest, config);
    return { id: rec.config.digest, name: familiarString(parseReference(rec.name)), settings: config.config ?? {}, chainIds, record: rec };
  }
}

/** docker's normalised name of a reference, or the input when it does not parse. */
export function imageName(ref: string): string {
  try {
    return familiarString(parseReference(ref));
  } catch {
    return ref;
  }
}

/**
 * docker's merge of the image's settings into a container's config: flags win; `--entrypoint`
 * also drops the image's Cmd; `-e` overrides image variables of the same name.
 */
export function mergeImageSettings(c: ContainerConfig, img: ImageSettings, given: { entrypoint: boolean; stopSignal: boolean }): ContainerConfig {
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...c.Env]) {
    const i = e.indexOf('=');
    env.set(i < 0 ? e : e.slice(0, i), e);
  }
  const out: ContainerConfig = { ...c, Env: [...env.values()], Labels: { ...(img.Labels ?? {}), ...c.Labels } };
  if (!given.entrypoint) {
    out.Entrypoint = img.Entrypoint ?? null;
    if (!c.Cmd.length) out.Cmd = img.Cmd ?? [];
  }
  if (!c.WorkingDir && img.WorkingDir) out.WorkingDir = img.WorkingDir;
  if (!c.User && img.User) out.User = img.User;
  if (!given.stopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  if (img.ExposedPorts && Object.keys(img.ExposedPorts).length) out.ExposedPorts = { ...img.ExposedPorts, ...(c.ExposedPorts ?? {}) };
  return out;
}
