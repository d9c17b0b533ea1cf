// Shared types of the image side: OCI image spec documents, and the doors between the content
// store (src/image), the snapshotters (src/storage) and the engine (src/engine).

export interface Descriptor {
  mediaType: string;
  digest: string; // "sha256:<64 hex>"
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The image configuration (application/vnd.oci.image.config.v1+json). */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Blobs addressed by digest (src/image/content-store.ts implements it). */
export interface ContentStore {
  readonly root: string;
  has(digest: string): boolean;
  /** Path of a verified blob on disk (for streaming readers such as the layer unpacker). */
  path(digest: string): string;
  readJSON<T>(digest: string): T;
  /** Stores bytes, verifying the digest when given; returns the descriptor-ready digest. */
  put(data: Buffer | string, expectedDigest?: string): string;
  /**
   * Streams a blob in, hashing as it goes; written atomically, kept only when it matches
   * `expected` (digest and, when given, size). A second ingest of a stored blob is a no-op.
   */
  ingest(source: import('node:stream').Readable, expected?: { digest: string; size?: number }): Promise<string>;
}

/** A layer unpacked once, shared by every image and container that uses it. */
export interface LayerRef {
  /** The uncompressed layer digest (diff_id). */
  diffId: string;
  /** The chain id (OCI image spec), which names the snapshot of this layer on top of its parents. */
  chainId: string;
}

/**
 * What a name in the image store points to (src/image/image-store.ts). `target` is what the
 * registry resolved the name to (a manifest, or an index for multi-platform images); `manifest`
 * is the single-platform manifest berth runs (the same as target unless target is an index), and
 * `config` its config, whose digest is the image ID (as in docker).
 */
export interface ImageRecord {
  /** Normalised reference: "docker.io/library/busybox:latest" or "host/repo@sha256:...". */
  name: string;
  target: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  /** When this name was last set (ISO 8601). */
  tagged: string;
}
