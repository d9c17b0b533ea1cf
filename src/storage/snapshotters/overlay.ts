// The overlay snapshotter (default): each layer unpacked once into its own directory, kept in
// overlay form (whiteout devices, opaque xattrs); a container gets an upper and a work directory
// and an overlay mounted on the host at <root>/containers/<id>/rootfs before the OCI runtime
// starts (as containerd and podman do), unmounted by removeContainer. Creating a container costs
// a few mkdirs and one mount, whatever the image's size.
//
// The mount goes through `berth-shim storage mount-overlay`, which uses fsopen/fsconfig with one
// "lowerdir+" per layer (no one-page limit on the options; the kernel allows 500 lowers) and
// falls back to mount(2) on kernels before 6.8. Paths are given relative to the storage root
// (the helper chdirs there) to stay short in both cases.
//
// The embedded image `host` (chainIds [HOST_LOWER]): the host's root filesystem ("/") is the only
// lower layer, read-only, under a private upper directory. What the container sees: the files of
// the host's root file system (/usr, /etc, /var, /opt ...) as they are now, read-only below its
// own writes; directories where other file systems are mounted on the host show what lies under
// them (usually empty: overlay does not cross mounts); these directories are hidden (empty,
// opaque in the upper): /proc /sys /dev /run /tmp /var/tmp /root /home, the storage root and any
// `hostHide` path. The OCI runtime mounts /proc, /sys and /dev over them as for any image.
import { existsSync, lstatSync, mkdirSync, lchownSync, chmodSync, lutimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StorageError } from '../errors.js';
import { diskUsage, mountPoints } from '../fsutil.js';
import { sharedHelper, type FsHelper, mountOverlay } from '../helper.js';
import { createLimitedArea, destroyWritableArea, remountWritableArea, type QuotaRecord } from '../quota/index.js';
import { OVERLAY_OPAQUE_XATTR } from '../unpack/whiteout.js';
import { inUserNamespace } from '../rootless.js';
import { newWalkContext, walkTree } from '../diff/walk.js';
import type { TarWriteItem } from '../tar/writer.js';
import { BaseSnapshotter, type ContainerMeta } from './base.js';
import { HOST_LOWER, type ChainId, type PrepareContainerOptions, type RootfsMount } from './types.js';

export const MAX_OVERLAY_LAYERS = 500;
export const DEFAULT_HOST_HIDE = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp', '/root', '/home'];

export interface OverlayOptions {
  /** Host paths hidden from containers of the host image (besides DEFAULT_HOST_HIDE and the storage root). */
  hostHide?: string[];
}

/** Mount options: index, redirect_dir and metacopy off where the kernel has them (diff() reads the upper as plain files). */
export function overlayMountOptions(paramsDir = '/sys/module/overlay/parameters'): string[] {
  const out: string[] = [];
  for (const [param, opt] of [
    ['index', 'index=off'],
    ['redirect_dir', 'redirect_dir=off'],
    ['metacopy', 'metacopy=off'],
  ] as const) {
    if (existsSync(join(paramsDir, param))) out.push(opt);
  }
  return out;
}

interface OverlayExtra {
  lowers: string[]; // relative to root, or "/" for the host
  upper: string; // relative to root
  work: string;
  options: string[];
  [k: string]: unknown;
}

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly kind = 'overlay' as const;
  readonly whiteoutMode = 'overlay' as const;
  override readonly independentLayers = true;
  // rootless (in a user namespace): overlay's own xattrs in the user.* namespace; userxattr
  // implies redirect_dir=nofollow and refuses redirect_dir=off ("conflicting options")
  private readonly options = inUserNamespace() ? [...overlayMountOptions().filter((o) => !o.startsWith('redirect_dir=')), 'userxattr'] : overlayMountOptions();
  private readonly hostHide: string[];

  constructor(root: string, opts: OverlayOptions = {}) {
    super(root);
    this.hostHide = [...DEFAULT_HOST_HIDE, this.root, ...(opts.hostHide ?? [])];
  }

  protected async makeLayerDir(diff: string): Promise<void> {
    mkdirSync(diff, { mode: 0o755 });
  }

  private emptyLower(): string {
    const d = join(this.root, 'empty');
    mkdirSync(d, { recursive: true, mode: 0o755 });
    return 'empty';
  }

  protected async createContainer(_id: string, dir: string, chainIds: ChainId[], opts: PrepareContainerOptions): Promise<Omit<ContainerMeta, 'id' | 'chainIds' | 'created'>> {
    const host = chainIds.length === 1 && chainIds[0] === HOST_LOWER;
    if (chainIds.length > MAX_OVERLAY_LAYERS) throw new StorageError('LIMIT', `an image of ${chainIds.length} layers: overlay mounts at most ${MAX_OVERLAY_LAYERS}`);
    const lowers = host ? ['/'] : chainIds.length === 0 ? [this.emptyLower()] : [...chainIds].reverse().map((c) => relative(this.root, this.layerPath(c)));
    let base = dir;
    let quota: QuotaRecord | undefined;
    if (opts.sizeLimit !== undefined) {
      const area = await createLimitedArea(dir, opts.sizeLimit, opts.quota);
      base = area.dir;
      quota = area.record;
    }
    try {
      const upper = join(base, 'upper');
      const work = join(base, 'work');
      mkdirSync(upper, { mode: 0o755 });
      mkdirSync(work, { mode: 0o700 });
      if (host) await this.hideHostPaths(upper);
      const rootfs = join(dir, 'rootfs');
      mkdirSync(rootfs, { mode: 0o755 });
      const extra: OverlayExtra = { lowers, upper: relative(this.root, upper), work: relative(this.root, work), options: this.options };
      await this.mountExtra(rootfs, extra);
      const mount: RootfsMount = {
        path: rootfs,
        kind: 'overlay',
        overlay: { lowerdirs: lowers.map((l) => (l.startsWith('/') ? l : join(this.root, l))), upperdir: upper, workdir: work, options: this.options },
      };
      if (quota) mount.quota = { kind: quota.kind, bytes: quota.bytes };
      const out: Omit<ContainerMeta, 'id' | 'chainIds' | 'created'> = { mount, extra };
      if (quota) out.quota = quota;
      return out;
    } catch (e) {
      // the overlay is the last step: nothing is mounted on rootfs here
      if (quota) await destroyWritableArea(quota).catch(() => {});
      throw e;
    }
  }

  private mountExtra(rootfs: string, x: OverlayExtra): Promise<void> {
    return mountOverlay(this.root, rootfs, x.lowers, [`upperdir=${x.upper}`, `workdir=${x.work}`, ...x.options]);
  }

  /** Empty opaque directories in the upper over the host paths a container must not see. */
  private async hideHostPaths(upper: string): Promise<void> {
    const helper = sharedHelper();
    const hidden: string[] = [];
    {
      for (const hostPath of [...this.hostHide].sort((a, b) => a.length - b.length)) {
        const comps = hostPath.split('/').filter(Boolean);
        if (comps.length === 0) continue;
        const norm = '/' + comps.join('/');
        if (hidden.some((h) => norm === h || norm.startsWith(h + '/'))) continue; // already inside a hidden directory
        hidden.push(norm);
        let st;
        try {
          st = lstatSync(hostPath);
        } catch {
          continue;
        }
        if (!st.isDirectory()) continue;
        // only real directories all the way (an upper directory over a host symlink would change what it means)
        if (comps.slice(0, -1).some((_c, i) => !lstatSync('/' + comps.slice(0, i + 1).join('/')).isDirectory())) continue;
        // parents in the upper copy the host's attributes (an upper directory's own win in the merge)
        let rel = '';
        for (let i = 0; i < comps.length; i++) {
          rel = rel ? `${rel}/${comps[i]}` : comps[i]!;
          const p = join(upper, rel);
          if (existsSync(p)) continue;
          const h = lstatSync('/' + rel);
          mkdirSync(p, { mode: 0o700 });
          lchownSync(p, h.uid, h.gid);
          chmodSync(p, h.mode & 0o7777);
          lutimesSync(p, h.atime, h.mtime);
          if (i === comps.length - 1) await helper.setXattr(p, OVERLAY_OPAQUE_XATTR, 'y');
        }
      }
    }
  }

  protected async remount(meta: ContainerMeta): Promise<void> {
    if (mountPoints().has(meta.mount.path)) return;
    if (meta.quota) await remountWritableArea(meta.quota);
    await this.mountExtra(meta.mount.path, meta.extra as OverlayExtra);
  }

  protected changes(meta: ContainerMeta, helper: FsHelper): AsyncIterable<TarWriteItem> {
    return walkTree(newWalkContext(helper), join(this.root, (meta.extra as OverlayExtra).upper), { overlayUpper: true });
  }

  protected containerBytes(meta: ContainerMeta): number {
    const dir = this.containerDir(meta.id);
    return meta.quota?.kind === 'loop' ? diskUsage(meta.quota.image) : diskUsage(join(this.root, (meta.extra as OverlayExtra).upper)) + diskUsage(join(dir, 'meta.json'));
  }
}
