// The snapshotter door: layers unpacked once per chain id and shared; a container's root
// filesystem made of them plus a private writable layer.
import type { Readable } from 'node:stream';
import type { LayerRef } from '../../image/types.js';
import type { WhiteoutMode } from '../unpack/whiteout.js';

export type ChainId = string;
export type SnapshotterKind = 'overlay' | 'vfs' | 'btrfs';

/** The host's root filesystem as the (only) lower layer: the embedded image `host`. */
export const HOST_LOWER = '/';

/** Unpacks a layer into dir (see unpackLayer); mode says how whiteouts must be recorded. */
export type UnpackFn = (dir: string, mode: WhiteoutMode) => Promise<void>;

export interface LayerInfo {
  chainId: ChainId;
  diffId: string;
  parent?: ChainId;
  /** Bytes on disk of this layer's own directory (for vfs/btrfs: the full copy). */
  size: number;
  created: string;
}

export interface QuotaInfo {
  kind: 'btrfs' | 'xfs' | 'loop';
  /** The limit on what the container can write. */
  bytes: number;
}

export interface RootfsMount {
  /**
   * The container's root filesystem, ready: give it to the OCI runtime as root.path. For overlay
   * it is an overlay mounted on the host (unmounted by removeContainer); for vfs and btrfs a
   * plain directory.
   */
  path: string;
  kind: 'overlay' | 'directory';
  /** What is mounted on path (overlay only). lowerdirs top first, absolute. */
  overlay?: { lowerdirs: string[]; upperdir: string; workdir: string; options: string[] };
  quota?: QuotaInfo;
}

export interface PrepareContainerOptions {
  /** Cap on what the container may write (its writable layer), in bytes. */
  sizeLimit?: number;
  /** How to enforce sizeLimit (default 'auto': btrfs qgroup, XFS project quota, loop ext4). */
  quota?: 'auto' | QuotaInfo['kind'];
}

export interface Usage {
  layers: { chainId: ChainId; bytes: number }[];
  containers: { id: string; bytes: number }[];
  /** Every byte under the snapshotter's root (shared blocks once). */
  totalBytes: number;
}

export interface PrepareLayerOptions {
  /**
   * Settles when the parent layer is ready. With independentLayers, the unpack starts at once and
   * only the commit of the layer waits for it (layers of one image unpack in parallel).
   */
  parentReady?: Promise<unknown>;
}

export interface Snapshotter {
  readonly kind: SnapshotterKind;
  readonly root: string;
  /** How layers of this snapshotter record whiteouts (what UnpackFn receives). */
  readonly whiteoutMode: WhiteoutMode;

  /**
   * Makes the layer `ref` on top of `parent` (the chain id below it, none for a base layer)
   * exist, calling unpack at most once per chain id: concurrent callers share one unpack, and a
   * layer that exists is returned as is. ref.chainId must be the chain id of parent + diffId.
   */
  prepareLayer(ref: LayerRef, parent: ChainId | undefined, unpack: UnpackFn, opts?: PrepareLayerOptions): Promise<LayerInfo>;
  /** True when a layer's unpacked content does not depend on its parent (overlay): layers may then unpack in parallel. */
  readonly independentLayers: boolean;
  hasLayer(chainId: ChainId): boolean;
  layer(chainId: ChainId): LayerInfo | undefined;
  layers(): LayerInfo[];

  /**
   * A container's root filesystem from the image's chain ids (bottom first, as the layers of
   * its manifest; [] for an image without layers, [HOST_LOWER] for the host image).
   */
  prepareContainer(id: string, chainIds: ChainId[], opts?: PrepareContainerOptions): Promise<RootfsMount>;
  /** The container's root filesystem, mounting it again when needed (after a reboot). */
  mountContainer(id: string): Promise<RootfsMount>;
  /** Unmounts (for overlay) and removes the container's writable layer. Idempotent. */
  removeContainer(id: string): Promise<void>;
  containers(): string[];
  /** The container's changes as a layer tar stream (docker whiteouts), for commit and diff. */
  diff(id: string): Readable;
  usage(): Promise<Usage>;
  /** Removes a layer; refused (IN_USE) while a container or another layer builds on it. */
  remove(chainId: ChainId): Promise<void>;
  /** Removes leftovers of interrupted work (temporary dirs, half-made containers). */
  repair(): Promise<void>;
  /** Removes only what dead processes left in tmp/ (safe while other processes work); the names removed. */
  removeStaleWork(): Promise<string[]>;
}
