// Parsing and validation of image manifests, indexes (manifest lists) and configs, OCI and
// Docker schema2, with limits on sizes and counts; platform selection from an index.
// Everything here comes from registries or archives: it is hostile until validated.
import { MEDIA, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from './types.js';
import { ManifestError, InvalidDigestError } from './errors.js';
import { parseDigest } from './digest.js';
import { formatPlatform, hostPlatform, normalizePlatform, platformRank } from './platform.js';

export const LIMITS = {
  /** Largest manifest or index accepted (the distribution registry's own limit is 4 MiB). */
  manifestBytes: 4 * 1024 * 1024,
  /** Largest image config accepted. */
  configBytes: 8 * 1024 * 1024,
  /** Most layers in one manifest. */
  layers: 1000,
  /** Most manifests in one index. */
  indexEntries: 1000,
  /** Most entries in config.history. */
  history: 10000,
  /** Deepest JSON nesting accepted. */
  depth: 64,
} as const;

/** Media types of single-platform manifests. */
export const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
/** Media types of indexes / manifest lists. */
export const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerManifestList];
/** The Accept header value for manifest requests (all four). */
export const MANIFEST_ACCEPT = [MEDIA.ociManifest, MEDIA.dockerManifest, MEDIA.ociIndex, MEDIA.dockerManifestList].join(', ');

const SCHEMA1_TYPES = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

export const CONFIG_TYPES: readonly string[] = [MEDIA.ociConfig, MEDIA.dockerConfig];

export function isManifestType(mt: string | undefined): boolean {
  return mt !== undefined && MANIFEST_TYPES.includes(mt);
}
export function isIndexType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_TYPES.includes(mt);
}
export function isLayerType(mt: string): boolean {
  return /^application\/vnd\.(oci\.image\.layer\.(nondistributable\.)?v1\.tar|docker\.image\.rootfs\.(foreign\.)?diff\.tar)/.test(mt);
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

type Obj = Record<string, unknown>;

function fail(what: string, field: string, detail: string): never {
  throw new ManifestError(field ? `${what}: ${field}: ${detail}` : `${what}: ${detail}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.slice(0, 80)}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}

/** JSON.parse with a size and nesting limit; the result must be an object. */
export function parseBoundedJSON(data: Buffer | string, maxBytes: number, what: string): Obj {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) fail(what, '', `too large: ${size} bytes (the limit is ${maxBytes})`);
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > LIMITS.depth) fail(what, '', `nested deeper than ${LIMITS.depth} levels`);
    } else if (c === 125 || c === 93) depth--;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(what, '', `invalid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(what, '', `expected a JSON object, got ${describe(v)}`);
  return v as Obj;
}

function str(o: Obj, key: string, what: string, path: string, required: boolean): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') fail(what, path + key, v === undefined ? 'missing' : `expected a string, got ${describe(v)}`);
  return v;
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(what, field, `expected an object of strings, got ${describe(v)}`);
  for (const [k, x] of Object.entries(v as Obj)) if (typeof x !== 'string') fail(what, `${field}.${k}`, `expected a string, got ${describe(x)}`);
  return v as Record<string, string>;
}

function stringArray(v: unknown, what: string, field: string, nullable = false): string[] | null {
  if (v === null && nullable) return null;
  if (!Array.isArray(v)) fail(what, field, `expected an array of strings, got ${describe(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== 'string') fail(what, `${field}[${i}]`, `expected a string, got ${describe(x)}`);
  });
  return v as string[];
}

function digestField(v: unknown, what: string, field: string): string {
  if (typeof v !== 'string') fail(what, field, v === undefined ? 'missing' : `expected a digest string, got ${describe(v)}`);
  try {
    parseDigest(v);
  } catch (e) {
    if (e instanceof InvalidDigestError) fail(what, field, e.message);
    throw e;
  }
  return v;
}

function parsePlatformField(v: unknown, what: string, field: string): Platform {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(what, field, `expected an object, got ${describe(v)}`);
  const o = v as Obj;
  const p: Platform = {
    architecture: str(o, 'architecture', what, `${field}.`, true)!,
    os: str(o, 'os', what, `${field}.`, true)!,
  };
  const variant = str(o, 'variant', what, `${field}.`, false);
  if (variant !== undefined) p.variant = variant;
  const osv = str(o, 'os.version', what, `${field}.`, false);
  if (osv !== undefined) p['os.version'] = osv;
  if (o['os.features'] !== undefined) p['os.features'] = stringArray(o['os.features'], what, `${field}.os.features`)!;
  return p;
}

/** Validates one descriptor. */
export function parseDescriptor(v: unknown, what: string, field: string): Descriptor {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(what, field, `expected a descriptor object, got ${describe(v)}`);
  const o = v as Obj;
  const mediaType = str(o, 'mediaType', what, `${field}.`, true)!;
  if (mediaType.length > 255 || !/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) fail(what, `${field}.mediaType`, `invalid media type ${describe(mediaType)}`);
  const digest = digestField(o['digest'], what, `${field}.digest`);
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    fail(what, `${field}.size`, `expected a non-negative integer, got ${describe(size)}`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (o['urls'] !== undefined) d.urls = stringArray(o['urls'], what, `${field}.urls`)!;
  if (o['annotations'] !== undefined) d.annotations = stringMap(o['annotations'], what, `${field}.annotations`);
  if (o['platform'] !== undefined) d.platform = parsePlatformField(o['platform'], what, `${field}.platform`);
  return d;
}

function checkSchema(o: Obj, what: string): void {
  if (o['schemaVersion'] === 1) {
    fail(what, 'schemaVersion', 'Docker image manifest schema 1 is deprecated and not supported; push the image again with a current client');
  }
  if (o['schemaVersion'] !== 2) fail(what, 'schemaVersion', `expected 2, got ${describe(o['schemaVersion'])}`);
}

/** Detects the kind of a manifest document from its mediaType field, the Content-Type and its shape. */
function detectKind(o: Obj, contentType: string | undefined, what: string): { kind: 'manifest' | 'index'; mediaType: string } {
  const body = typeof o['mediaType'] === 'string' ? o['mediaType'] : undefined;
  const header = contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
  for (const mt of [body, header]) {
    if (mt && SCHEMA1_TYPES.includes(mt)) {
      fail(what, '', 'Docker image manifest schema 1 is deprecated and not supported; push the image again with a current client');
    }
  }
  if (body !== undefined && header !== undefined && (isManifestType(header) || isIndexType(header)) && body !== header) {
    fail(what, 'mediaType', `"${body}" differs from the Content-Type "${header}"`);
  }
  const mt = body ?? (isManifestType(header) || isIndexType(header) ? header : undefined);
  if (mt !== undefined) {
    if (isManifestType(mt)) return { kind: 'manifest', mediaType: mt };
    if (isIndexType(mt)) return { kind: 'index', mediaType: mt };
    fail(what, 'mediaType', `unsupported media type "${mt}" (expected an OCI or Docker schema2 manifest or index)`);
  }
  // OCI allows the mediaType field to be absent: decide by shape
  if (Array.isArray(o['manifests']) && o['config'] === undefined) return { kind: 'index', mediaType: MEDIA.ociIndex };
  if (o['config'] !== undefined && o['manifests'] === undefined) return { kind: 'manifest', mediaType: MEDIA.ociManifest };
  fail(what, '', 'cannot tell whether this is a manifest or an index: it has no mediaType');
}

/** Parses a manifest or an index (OCI or Docker), validating every field. */
export function parseManifest(data: Buffer | string, contentType?: string, what = 'manifest'): ParsedManifest {
  const o = parseBoundedJSON(data, LIMITS.manifestBytes, what);
  checkSchema(o, what);
  const { kind, mediaType } = detectKind(o, contentType, what);
  if (kind === 'index') return { kind, mediaType, index: validateIndex(o, mediaType, what) };
  return { kind, mediaType, manifest: validateManifest(o, mediaType, what) };
}

function validateManifest(o: Obj, mediaType: string, what: string): ImageManifest {
  if (o['manifests'] !== undefined) fail(what, 'manifests', 'a manifest cannot have "manifests" (is this an index?)');
  const config = parseDescriptor(o['config'], what, 'config');
  if (!Array.isArray(o['layers'])) fail(what, 'layers', `expected an array, got ${describe(o['layers'])}`);
  const raw = o['layers'] as unknown[];
  if (raw.length > LIMITS.layers) fail(what, 'layers', `${raw.length} layers (the limit is ${LIMITS.layers})`);
  const layers = raw.map((l, i) => parseDescriptor(l, what, `layers[${i}]`));
  if (mediaType === MEDIA.dockerManifest) {
    if (config.mediaType !== MEDIA.dockerConfig) fail(what, 'config.mediaType', `expected "${MEDIA.dockerConfig}", got "${config.mediaType}"`);
  }
  layers.forEach((l, i) => {
    if (!isLayerType(l.mediaType)) fail(what, `layers[${i}].mediaType`, `not a layer media type: "${l.mediaType}"`);
  });
  const m: ImageManifest = { schemaVersion: 2, mediaType, config, layers };
  if (o['mediaType'] === undefined) delete m.mediaType;
  if (o['annotations'] !== undefined) m.annotations = stringMap(o['annotations'], what, 'annotations');
  return m;
}

function validateIndex(o: Obj, mediaType: string, what: string): ImageIndex {
  if (!Array.isArray(o['manifests'])) fail(what, 'manifests', `expected an array, got ${describe(o['manifests'])}`);
  const raw = o['manifests'] as unknown[];
  if (raw.length > LIMITS.indexEntries) fail(what, 'manifests', `${raw.length} entries (the limit is ${LIMITS.indexEntries})`);
  const manifests = raw.map((d, i) => parseDescriptor(d, what, `manifests[${i}]`));
  const idx: ImageIndex = { schemaVersion: 2, mediaType, manifests };
  if (o['mediaType'] === undefined) delete idx.mediaType;
  if (o['annotations'] !== undefined) idx.annotations = stringMap(o['annotations'], what, 'annotations');
  return idx;
}

export function parseImageManifest(data: Buffer | string, what = 'manifest'): ImageManifest {
  const p = parseManifest(data, undefined, what);
  if (p.kind !== 'manifest') fail(what, '', 'expected an image manifest, got an index');
  return p.manifest;
}

export function parseImageIndex(data: Buffer | string, what = 'index'): ImageIndex {
  const p = parseManifest(data, undefined, what);
  if (p.kind !== 'index') fail(what, '', 'expected an image index, got a manifest');
  return p.index;
}

function objectField(o: Obj, key: string, what: string, field: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) fail(what, field, `expected an object, got ${describe(v)}`);
  return v as Obj;
}

/** Parses an image config (OCI or Docker); unknown fields are kept. */
export function parseImageConfig(data: Buffer | string, what = 'image config'): ImageConfig {
  const o = parseBoundedJSON(data, LIMITS.configBytes, what);
  str(o, 'architecture', what, '', true);
  str(o, 'os', what, '', true);
  for (const k of ['created', 'author', 'variant', 'os.version']) str(o, k, what, '', false);
  const rootfs = objectField(o, 'rootfs', what, 'rootfs');
  if (!rootfs) fail(what, 'rootfs', 'missing');
  if (rootfs['type'] !== 'layers') fail(what, 'rootfs.type', `expected "layers", got ${describe(rootfs['type'])}`);
  if (!Array.isArray(rootfs['diff_ids'])) fail(what, 'rootfs.diff_ids', `expected an array, got ${describe(rootfs['diff_ids'])}`);
  const diffIds = rootfs['diff_ids'] as unknown[];
  if (diffIds.length > LIMITS.layers) fail(what, 'rootfs.diff_ids', `${diffIds.length} layers (the limit is ${LIMITS.layers})`);
  diffIds.forEach((d, i) => digestField(d, what, `rootfs.diff_ids[${i}]`));
  const c = objectField(o, 'config', what, 'config');
  if (c) {
    for (const k of ['User', 'WorkingDir', 'StopSignal']) str(c, k, what, 'config.', false);
    if (c['Env'] != null) stringArray(c['Env'], what, 'config.Env');
    for (const k of ['Entrypoint', 'Cmd']) if (c[k] !== undefined) stringArray(c[k], what, `config.${k}`, true);
    if (c['Labels'] != null) stringMap(c['Labels'], what, 'config.Labels');
    for (const k of ['ExposedPorts', 'Volumes']) objectField(c, k, what, `config.${k}`);
    const hc = objectField(c, 'Healthcheck', what, 'config.Healthcheck');
    if (hc && hc['Test'] != null) stringArray(hc['Test'], what, 'config.Healthcheck.Test');
  }
  if (o['history'] !== undefined && o['history'] !== null) {
    if (!Array.isArray(o['history'])) fail(what, 'history', `expected an array, got ${describe(o['history'])}`);
    const h = o['history'] as unknown[];
    if (h.length > LIMITS.history) fail(what, 'history', `${h.length} entries (the limit is ${LIMITS.history})`);
    h.forEach((e, i) => {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(what, `history[${i}]`, `expected an object, got ${describe(e)}`);
      const eo = e as Obj;
      for (const k of ['created', 'created_by', 'author', 'comment']) str(eo, k, what, `history[${i}].`, false);
      if (eo['empty_layer'] !== undefined && typeof eo['empty_layer'] !== 'boolean') {
        fail(what, `history[${i}].empty_layer`, `expected a boolean, got ${describe(eo['empty_layer'])}`);
      }
    });
  }
  return o as unknown as ImageConfig;
}

/** Checks that a config belongs to a manifest: as many diff_ids as layers. */
export function checkConfigMatchesManifest(config: ImageConfig, manifest: ImageManifest, what = 'image'): void {
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    fail(what, 'rootfs.diff_ids', `the config lists ${config.rootfs.diff_ids.length} layers but the manifest has ${manifest.layers.length}`);
  }
}

/** The descriptors a manifest or index refers to (for reachability). */
export function childDescriptors(p: ParsedManifest): Descriptor[] {
  return p.kind === 'index' ? p.index.manifests : [p.manifest.config, ...p.manifest.layers];
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown';
}

/**
 * Picks the manifest for a platform from an index: an exact match first, then compatible
 * fallbacks (arm/v7 runs v6); attestation manifests are skipped. Throws listing what the index has.
 */
export function selectManifest(index: ImageIndex, want: Platform = hostPlatform()): Descriptor {
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of index.manifests) {
    if (!isManifestType(d.mediaType) || !d.platform || isAttestation(d)) continue;
    const rank = platformRank(want, d.platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { d, rank };
  }
  if (best) return best.d;
  const have = index.manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(d.platform!));
  throw new ManifestError(
    `no manifest for platform ${formatPlatform(want)} in the index (it has: ${have.length ? [...new Set(have)].join(', ') : 'no platforms'}); choose one with --platform`,
  );
}

/** The platform a config describes. */
export function configPlatform(config: ImageConfig): Platform {
  const c = config as ImageConfig & { variant?: string };
  const p: Platform = { os: c.os, architecture: c.architecture };
  if (c.variant) p.variant = c.variant;
  return normalizePlatform(p);
}
