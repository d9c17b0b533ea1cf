// What every snapshotter shares: the on-disk layout, layer bookkeeping (once per chain id,
// shared between concurrent callers, unpacked in a temporary directory and renamed into place),
// container directories, usage, removal and repair.
//
//   <root>/layers/<chain id hex>/      mode 0700 (device nodes inside stay unreachable from the host)
//                  meta.json           LayerInfo
//                  diff/               the layer (overlay) or the full tree up to it (vfs, btrfs)
//   <root>/containers/<id>/            mode 0700; meta.json, rootfs/, and the writable layer
//   <root>/tmp/                        work in progress; removed by repair()
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { LayerRef } from '../../image/types.js';
import { writeTar, type TarWriteItem } from '../tar/writer.js';
import { StorageError, errnoCode } from '../errors.js';
import { chainIdOf, diskUsage, mountPoints, readJsonOrUndefined, writeJsonAtomic } from '../fsutil.js';
import { sharedHelper, type FsHelper, unmount } from '../helper.js';
import { checkId, digestHex } from '../paths.js';
import { destroyWritableArea, type QuotaRecord } from '../quota/index.js';
import type { WhiteoutMode } from '../unpack/whiteout.js';
import type { ChainId, LayerInfo, PrepareContainerOptions, PrepareLayerOptions, RootfsMount, Snapshotter, SnapshotterKind, UnpackFn, Usage } from './types.js';
import { HOST_LOWER } from './types.js';

export interface ContainerMeta {
  id: string;
  chainIds: ChainId[];
  created: string;
  mount: RootfsMount;
  quota?: QuotaRecord;
  /** Snapshotter-specific (overlay: relative paths to mount again). */
  extra?: Record<string, unknown>;
}

export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly kind: SnapshotterKind;
  abstract readonly whiteoutMode: WhiteoutMode;
  readonly layersDir: string;
  readonly containersDir: string;
  readonly tmpDir: string;
  private inflight = new Map<ChainId, Promise<LayerInfo>>();

  readonly root: string;

  constructor(root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    // mount points in /proc/self/mountinfo are real paths: so are ours
    root = this.root = realpathSync(root);
    for (const d of [root, (this.layersDir = join(root, 'layers')), (this.containersDir = join(root, 'containers')), (this.tmpDir = join(root, 'tmp'))])
      mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  // ---------------------------------------------------------------- layers

  layerDir(chainId: ChainId): string {
    return join(this.layersDir, digestHex(chainId, 'chain id'));
  }

  /** The directory holding the layer's files (what an overlay lowerdir or a copy starts from). */
  layerPath(chainId: ChainId): string {
    return join(this.layerDir(chainId), 'diff');
  }

  hasLayer(chainId: ChainId): boolean {
    return existsSync(join(this.layerDir(chainId), 'meta.json'));
  }

  layer(chainId: ChainId): LayerInfo | undefined {
    return readJsonOrUndefined<LayerInfo>(join(this.layerDir(chainId), 'meta.json'));
  }

  layers(): LayerInfo[] {
    const out: LayerInfo[] = [];
    for (const hex of readdirSync(this.layersDir)) {
      const m = readJsonOrUndefined<LayerInfo>(join(this.layersDir, hex, 'meta.json'));
      if (m) out.push(m);
    }
    return out;
  }

  /** Creates `diff` (not existing yet) as the start of a layer on top of parent. */
  protected abstract makeLayerDir(diff: string, parent: ChainId | undefined): Promise<void>;
  /** After a successful unpack (btrfs: make it read-only). */
  protected async sealLayer(_diff: string): Promise<void> {}
  /** Removes a directory tree that may hold snapshotter objects (btrfs subvolumes). */
  protected async removeTree(dir: string): Promise<void> {
    rmSync(dir, { recursive: true, force: true });
  }

  readonly independentLayers: boolean = false;

  async prepareLayer(ref: LayerRef, parent: ChainId | undefined, unpack: UnpackFn, opts: PrepareLayerOptions = {}): Promise<LayerInfo> {
    digestHex(ref.diffId, 'diff id');
    digestHex(ref.chainId, 'chain id');
    if (parent !== undefined) digestHex(parent, 'parent chain id');
    const want = chainIdOf(parent, ref.diffId);
    if (want !== ref.chainId) throw new StorageError('FORMAT', `chain id ${ref.chainId} does not match its parent ${parent ?? '(none)'} and diff id ${ref.diffId} (expected ${want})`);
    const have = this.layer(ref.chainId);
    if (have) return have;
    const running = this.inflight.get(ref.chainId);
    if (running) return running;
    const p = this.makeLayer(ref, parent, unpack, opts).finally(() => this.inflight.delete(ref.chainId));
    this.inflight.set(ref.chainId, p);
    return p;
  }

  private async makeLayer(ref: LayerRef, parent: ChainId | undefined, unpack: UnpackFn, opts: PrepareLayerOptions): Promise<LayerInfo> {
    const early = this.independentLayers && opts.parentReady !== undefined;
    const parentThere = () => {
      if (parent !== undefined && !this.hasLayer(parent)) throw new StorageError('NOT_FOUND', `parent layer ${parent} of ${ref.chainId} is not unpacked`);
    };
    if (!early) {
      await opts.parentReady;
      parentThere();
    }
    const tmp = join(this.tmpDir, this.workName('layer'));
    mkdirSync(tmp, { mode: 0o700 });
    const diff = join(tmp, 'diff');
    try {
      await this.makeLayerDir(diff, parent);
      await unpack(diff, this.whiteoutMode);
      if (early) {
        // unpacked beside the parent's unpack; a layer is only committed above a committed parent
        await opts.parentReady;
        parentThere();
      }
      await this.sealLayer(diff);
      const info: LayerInfo = { chainId: ref.chainId, diffId: ref.diffId, size: diskUsage(diff), created: new Date().toISOString() };
      if (parent !== undefined) info.parent = parent;
      writeJsonAtomic(join(tmp, 'meta.json'), info);
      try {
        renameSync(tmp, this.layerDir(ref.chainId));
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
        // another process unpacked it first: use theirs
        await this.removeTree(tmp);
        const theirs = this.layer(ref.chainId);
        if (!theirs) throw e;
        return theirs;
      }
      return info;
    } catch (e) {
      await this.removeTree(tmp).catch(() => {});
      throw e;
    }
  }

  async remove(chainId: ChainId): Promise<void> {
    const dir = this.layerDir(chainId);
    if (!existsSync(dir)) return;
    const child = this.layers().find((l) => l.parent === chainId);
    if (child) throw new StorageError('IN_USE', `layer ${chainId} is the parent of layer ${child.chainId}`);
    const user = this.containers().find((id) => this.containerMeta(id)?.chainIds.includes(chainId));
    if (user) throw new StorageError('IN_USE', `layer ${chainId} is used by container ${user}`);
    // out of layers/ first, so a half-removed layer never looks complete
    const doomed = join(this.tmpDir, this.workName('remove'));
    renameSync(dir, doomed);
    await this.removeTree(doomed);
  }

  // ---------------------------------------------------------------- containers

  containerDir(id: string): string {
    return join(this.containersDir, checkId(id));
  }

  containerMeta(id: string): ContainerMeta | undefined {
    return readJsonOrUndefined<ContainerMeta>(join(this.containerDir(id), 'meta.json'));
  }

  containers(): string[] {
    return readdirSync(this.containersDir).filter((id) => existsSync(join(this.containersDir, id, 'meta.json')));
  }

  protected abstract createContainer(id: string, dir: string, chainIds: ChainId[], opts: PrepareContainerOptions): Promise<Omit<ContainerMeta, 'id' | 'chainIds' | 'created'>>;
  protected abstract remount(meta: ContainerMeta): Promise<void>;
  protected abstract changes(meta: ContainerMeta, helper: FsHelper): AsyncIterable<TarWriteItem>;
  protected abstract containerBytes(meta: ContainerMeta): number;

  async prepareContainer(id: string, chainIds: ChainId[], opts: PrepareContainerOptions = {}): Promise<RootfsMount> {
    const dir = this.containerDir(id);
    const host = chainIds.length === 1 && chainIds[0] === HOST_LOWER;
    if (!host) {
      for (const c of chainIds) if (!this.hasLayer(c)) throw new StorageError('NOT_FOUND', `layer ${c} is not unpacked (prepareLayer first)`);
      for (let i = 1; i < chainIds.length; i++) {
        const parent = this.layer(chainIds[i]!)?.parent;
        if (parent !== chainIds[i - 1]) throw new StorageError('FORMAT', `layer ${chainIds[i]} does not sit on ${chainIds[i - 1]} (chain ids must be bottom first)`);
      }
    }
    if (opts.sizeLimit !== undefined && (!Number.isSafeInteger(opts.sizeLimit) || opts.sizeLimit <= 0)) throw new StorageError('FORMAT', `size limit ${opts.sizeLimit}: must be a positive number of bytes`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') throw new StorageError('EXISTS', `container ${id} already has a root filesystem`);
      throw e;
    }
    try {
      const made = await this.createContainer(id, dir, chainIds, opts);
      const meta: ContainerMeta = { id, chainIds, created: new Date().toISOString(), ...made };
      // no fsync on the hot path: a lost meta.json after a power cut leaves a directory that repair() removes
      writeJsonAtomic(join(dir, 'meta.json'), meta, { fsync: false });
      return meta.mount;
    } catch (e) {
      await this.cleanContainerDir(dir, undefined).catch(() => {});
      throw e;
    }
  }

  async mountContainer(id: string): Promise<RootfsMount> {
    const meta = this.containerMeta(id);
    if (!meta) throw new StorageError('NOT_FOUND', `no root filesystem for container ${id}`);
    await this.remount(meta);
    return meta.mount;
  }

  async removeContainer(id: string): Promise<void> {
    const dir = this.containerDir(id);
    if (!existsSync(dir)) return;
    await this.cleanContainerDir(dir, this.containerMeta(id));
  }

  /** Unmounts everything below dir, releases quotas, removes it; never deletes through a mount. */
  protected async cleanContainerDir(dir: string, meta: ContainerMeta | undefined): Promise<void> {
    const under = () => [...mountPoints()].filter((m) => m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
    for (const m of under()) {
      try {
        await unmount(m);
      } catch {
        await unmount(m, true);
      }
    }
    if (meta?.quota) await destroyWritableArea(meta.quota);
    else if (existsSync(join(dir, 'fs.img'))) await destroyWritableArea({ kind: 'loop', bytes: 0, image: join(dir, 'fs.img'), mountPoint: join(dir, 'fs') });
    const left = under();
    if (left.length) throw new StorageError('IN_USE', `cannot remove ${dir}: still mounted at ${left.join(', ')}`);
    const doomed = join(this.tmpDir, this.workName('remove'));
    renameSync(dir, doomed);
    await this.removeTree(doomed);
  }

  diff(id: string): Readable {
    const meta = this.containerMeta(id);
    if (!meta) throw new StorageError('NOT_FOUND', `no root filesystem for container ${id}`);
    return Readable.from(writeTar(this.changes(meta, sharedHelper())), { objectMode: false });
  }

  async usage(): Promise<Usage> {
    const seen = new Set<string>();
    const layers = this.layers().map((l) => ({ chainId: l.chainId, bytes: diskUsage(this.layerDir(l.chainId), seen) }));
    const containers = this.containers().flatMap((id) => {
      const meta = this.containerMeta(id);
      return meta ? [{ id, bytes: this.containerBytes(meta) }] : [];
    });
    const totalBytes = layers.reduce((a, l) => a + l.bytes, 0) + containers.reduce((a, c) => a + c.bytes, 0);
    return { layers, containers, totalBytes };
  }

  /** A name under tmp/ carrying this process's pid, so that removeStaleWork() knows whose it is. */
  private workName(kind: string): string {
    return `${kind}-${process.pid}-${randomBytes(8).toString('hex')}`;
  }

  /**
   * Removes what killed processes left under tmp/ (a half-unpacked layer, a half-removed tree);
   * work of live processes stays. Safe beside concurrent berth processes, unlike repair().
   */
  async removeStaleWork(): Promise<string[]> {
    const gone: string[] = [];
    for (const name of readdirSync(this.tmpDir)) {
      const pid = Number(/^[a-z]+-(\d+)-[0-9a-f]+$/.exec(name)?.[1] ?? NaN);
      if (Number.isInteger(pid) && pidAlive(pid)) continue;
      await this.removeTree(join(this.tmpDir, name)).then(() => gone.push(name), () => {});
    }
    return gone;
  }

  async repair(): Promise<void> {
    for (const name of readdirSync(this.tmpDir)) await this.removeTree(join(this.tmpDir, name)).catch(() => {});
    for (const id of readdirSync(this.containersDir)) {
      const dir = join(this.containersDir, id);
      if (!existsSync(join(dir, 'meta.json')) && lstatSync(dir).isDirectory()) await this.cleanContainerDir(dir, undefined).catch(() => {});
    }
    for (const hex of readdirSync(this.layersDir)) {
      if (!existsSync(join(this.layersDir, hex, 'meta.json'))) await this.removeTree(join(this.layersDir, hex)).catch(() => {});
    }
  }
}

/** Whether a process exists (EPERM: it does, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}
