// An OCI distribution client for one registry host: ping, manifests (every digest verified),
// blobs (downloads resumed with Range, uploads monolithic or chunked, cross-repository mounts)
// and tags. Registry answers are hostile: sizes are capped and digests always checked.
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { Descriptor } from '../types.js';
import { DigestMismatchError, ImageError } from '../errors.js';
import { digestOf, parseDigest } from '../digest.js';
import { LIMITS, MANIFEST_ACCEPT, parseManifest, type ParsedManifest } from '../manifest.js';
import type { BlobSource, FileContentStore } from '../content-store.js';
import { registryEndpoint, isLoopbackHost, type HostOptions, type RegistryEndpoint } from './hosts.js';
import { errorFromResponse, header, HttpClient, readBody, redactUrl, type HttpOptions, type HttpRequest, type HttpResponse } from './http.js';
import { AuthError, Authorizer, mergeScopes, repositoryScope } from './auth.js';
import { readCredentials, type Credentials } from './credentials.js';

export interface RegistryClientOptions extends HostOptions, HttpOptions {
  /** Credentials to use; default: those stored for the host in config.json. */
  credentials?: Credentials;
  /** Path of the docker-compatible config.json (default $DOCKER_CONFIG or ~/.docker). */
  dockerConfig?: string;
  /** Use no stored credentials. */
  anonymous?: boolean;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  parsed: ParsedManifest;
  /** A descriptor of the manifest (mediaType, digest, size). */
  descriptor: Descriptor;
}

export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

export interface UploadOptions {
  /** Upload in PATCH chunks of this many bytes (default: one monolithic PUT). */
  chunkSize?: number;
  /** Repositories on this registry that may hold the blob (tried with a cross-repository mount). */
  mountFrom?: string[];
  onProgress?: (bytes: number) => void;
}

/** Opens `length` bytes of a blob from `start`. */
export type BlobOpener = (start: number, length: number) => Readable;

const PULL = ['pull'];
const PUSH = ['pull', 'push'];

class Counter extends Transform {
  n = 0;
  constructor(private readonly base: number, private readonly cb?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: (err: null, c: Buffer) => void): void {
    this.n += chunk.length;
    this.cb?.(this.base + this.n);
    done(null, chunk);
  }
}

export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly http: HttpClient;
  readonly auth: Authorizer;
  private pinged: Promise<string> | undefined;

  constructor(readonly host: string, readonly opts: RegistryClientOptions = {}) {
    this.endpoint = registryEndpoint(host, opts);
    this.http = new HttpClient(this.endpoint.tls, opts);
    const creds = opts.anonymous ? undefined : (opts.credentials ?? readCredentials(host, opts.dockerConfig));
    this.auth = new Authorizer(this.http, creds, this.endpoint.insecure || isLoopbackHost(host));
  }

  /** GET /v2/: finds the scheme that answers and the auth challenge. Returns the base URL. */
  ping(): Promise<string> {
    this.pinged ??= this.doPing().catch((e) => {
      this.pinged = undefined;
      throw e;
    });
    return this.pinged;
  }

  private async doPing(): Promise<string> {
    let lastError: unknown;
    for (const scheme of this.endpoint.schemes) {
      const base = `${scheme}://${this.endpoint.apiHost}`;
      let res: HttpResponse;
      try {
        res = await this.http.send({ method: 'GET', url: `${base}/v2/` });
      } catch (e) {
        lastError = e;
        continue;
      }
      await res.body.dump();
      if (res.status === 200) return base;
      if (res.status === 401) {
        this.auth.noteChallenge(res.headers['www-authenticate']);
        return base;
      }
      lastError = new ImageError(`${base}/v2/ answered HTTP ${res.status}: not an OCI registry endpoint`, 'not_a_registry');
    }
    const why = lastError instanceof Error ? (lastError.cause instanceof Error ? lastError.cause.message : lastError.message) : String(lastError);
    const hint = this.endpoint.schemes.includes('http') ? '' : ` (for a registry without TLS, mark ${this.host} insecure)`;
    throw new ImageError(`cannot reach the registry ${this.host}: ${why}${hint}`, 'unreachable');
  }

  /** An authorized request: answers 401 once by (re)authorizing from the challenge. */
  async call(scopes: string[], req: HttpRequest, what: string): Promise<HttpResponse> {
    const base = await this.ping();
    const url = /^https?:\/\//.test(req.url) ? req.url : base + req.url;
    let sc = scopes;
    for (let attempt = 0; ; attempt++) {
      const authz = await this.auth.authorization(sc);
      const headers = { ...(req.headers ?? {}) };
      if (authz) headers['authorization'] = authz;
      const res = await this.http.send({ ...req, url, headers });
      if (res.status !== 401 && res.status !== 403) return res;
      if (res.status === 401 && attempt === 0) {
        const www = res.headers['www-authenticate'];
        await res.body.dump();
        const { changed, scope } = this.auth.noteChallenge(www);
        if (scope) sc = mergeScopes([...sc, ...scope.split(' ')]);
        this.auth.invalidate(sc);
        if (changed || authz === undefined || authz.startsWith('Bearer ')) continue;
        throw new AuthError(`${what}: unauthorized: ${this.auth.hasCredentials ? 'the registry refused the credentials' : `authentication required: log in with \`berth login ${this.host}\``}`);
      }
      const err = await errorFromResponse(res, what);
      const detail = err.errors.length ? `: ${err.errors.map((x) => x.message || x.code).join('; ')}` : '';
      throw new AuthError(
        res.status === 403 || this.auth.hasCredentials
          ? `${what}: access denied (HTTP ${res.status}${detail})${this.auth.hasCredentials ? '' : `; log in with \`berth login ${this.host}\``}`
          : `${what}: authentication required (HTTP ${res.status}${detail}); log in with \`berth login ${this.host}\``,
      );
    }
  }

  /** Checks that the stored credentials (or anonymous access) are accepted: GET /v2/ authorized. */
  async checkLogin(): Promise<void> {
    await this.call([], { method: 'GET', url: '/v2/' }, `login to ${this.host}`).then(async (res) => {
      await res.body.dump();
      if (res.status !== 200) throw new ImageError(`login to ${this.host}: HTTP ${res.status}`, 'registry_error');
    });
  }

  /**
   * Fetches a manifest or index by tag or digest and verifies it: by digest it must hash to
   * that digest; by tag it must match the registry's Docker-Content-Digest header when sent.
   */
  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const byDigest = reference.includes(':');
    if (byDigest) parseDigest(reference);
    const what = `manifest ${this.host}/${repo}${byDigest ? '@' : ':'}${reference}`;
    const res = await this.call([repositoryScope(repo, PULL)], {
      method: 'GET', url: `/v2/${repo}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT },
    }, what);
    if (res.status === 404) {
      const e = await errorFromResponse(res, what);
      throw new ImageError(`${what} not found${e.errors.length ? ` (${e.errors.map((x) => x.code).join(', ')})` : ''}`, 'not_found');
    }
    if (res.status !== 200) throw await errorFromResponse(res, what);
    const bytes = await readBody(res, LIMITS.manifestBytes, what);
    const sent = header(res, 'docker-content-digest');
    let digest: string;
    if (byDigest) {
      digest = digestOf(bytes, parseDigest(reference).algorithm);
      if (digest !== reference) throw new DigestMismatchError(reference, digest, what);
    } else {
      digest = digestOf(bytes);
      if (sent) {
        let alg;
        try {
          alg = parseDigest(sent).algorithm;
        } catch {
          throw new ImageError(`${what}: the registry sent an invalid Docker-Content-Digest "${sent.slice(0, 100)}"`, 'invalid_digest');
        }
        const check = digestOf(bytes, alg);
        if (check !== sent) throw new DigestMismatchError(sent, check, what);
        digest = check;
      }
    }
    const parsed = parseManifest(bytes, header(res, 'content-type'), what);
    return { bytes, mediaType: parsed.mediaType, digest, parsed, descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length } };
  }

  /** HEAD of a blob: its size when the repository has it, else undefined. */
  async headBlob(repo: string, digest: string, scopes = [repositoryScope(repo, PULL)]): Promise<number | undefined> {
    const what = `blob ${digest} in ${this.host}/${repo}`;
    const res = await this.call(scopes, { method: 'HEAD', url: `/v2/${repo}/blobs/${digest}` }, what);
    await res.body.dump();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await errorFromResponse(res, what);
    const n = Number(header(res, 'content-length'));
    return Number.isFinite(n) ? n : -1;
  }

  /** A source for the content store: the blob from an offset (HTTP Range) or from 0. */
  blobSource(repo: string, desc: Descriptor): BlobSource {
    parseDigest(desc.digest);
    const what = `blob ${desc.digest} of ${this.host}/${repo}`;
    return async (offset) => {
      const headers: Record<string, string> = {};
      if (offset > 0) headers['range'] = `bytes=${offset}-`;
      // no retries here: fetchBlob retries around the whole ingest, resuming what arrived
      const res = await this.call([repositoryScope(repo, PULL)], { method: 'GET', url: `/v2/${repo}/blobs/${desc.digest}`, headers, retry: false }, what);
      if (res.status === 416 && offset > 0) {
        // what we hold is not a prefix the server agrees with: start over
        await res.body.dump();
        return this.blobSource(repo, desc)(0);
      }
      if (res.status === 200) {
        const len = Number(header(res, 'content-length'));
        if (Number.isFinite(len) && len !== desc.size) {
          res.body.destroy();
          throw new DigestMismatchError(`${desc.size} bytes`, `${len} bytes`, `size of ${what}`);
        }
        return { stream: res.body, offset: 0 };
      }
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          res.body.destroy();
          throw new ImageError(`${what}: the registry answered the range request with "${header(res, 'content-range') ?? ''}"`, 'bad_range');
        }
        return { stream: res.body, offset };
      }
      throw await errorFromResponse(res, what);
    };
  }

  /** Downloads a blob into the content store: verified, resumed and retried after interruptions. */
  async fetchBlob(content: FileContentStore, repo: string, desc: Descriptor, opts: { onProgress?: (n: number) => void; onRetry?: (e: unknown, attempt: number) => void } = {}): Promise<void> {
    if (content.has(desc.digest)) return;
    const source = this.blobSource(repo, desc);
    const ingestOpts: { onProgress?: (n: number) => void; signal?: AbortSignal } = {};
    if (opts.onProgress) ingestOpts.onProgress = opts.onProgress;
    if (this.opts.signal) ingestOpts.signal = this.opts.signal;
    await this.http.withRetries(() => content.ingest(source, { digest: desc.digest, size: desc.size }, ingestOpts), opts.onRetry);
  }

  /** POST /blobs/uploads/: a mount (201) or an upload session (202 with its Location). */
  private async startUpload(repo: string, mount?: { digest: string; from: string }): Promise<{ mounted: true } | { location: string }> {
    const scopes = [repositoryScope(repo, PUSH)];
    let url = `/v2/${repo}/blobs/uploads/`;
    if (mount) {
      scopes.push(repositoryScope(mount.from, PULL));
      url += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
    }
    const what = `upload to ${this.host}/${repo}`;
    const res = await this.call(scopes, { method: 'POST', url, headers: { 'content-length': '0' }, retry: true }, what);
    if (mount && res.status === 201) {
      await res.body.dump();
      return { mounted: true };
    }
    if (res.status !== 202) throw await errorFromResponse(res, what);
    await res.body.dump();
    const loc = header(res, 'location');
    if (!loc) throw new ImageError(`${what}: the registry started an upload without a Location`, 'registry_error');
    return { location: await this.resolveLocation(loc) };
  }

  /** Resolves an upload Location against the registry; it must stay on this registry. */
  private async resolveLocation(loc: string): Promise<string> {
    const base = new URL(`${await this.ping()}/v2/`);
    const u = new URL(loc, base);
    // credentials go with an upload URL: it must not lead elsewhere (nor down to plain HTTP)
    if (u.host !== base.host) throw new ImageError(`the registry sent an upload location on another host (${u.host})`, 'bad_location');
    u.protocol = base.protocol;
    return u.toString();
  }

  /**
   * Uploads a blob unless the repository has it: a cross-repository mount when a source
   * repository is known, else one PUT, or PATCH chunks then a closing PUT.
   */
  async uploadBlob(repo: string, desc: Descriptor, open: BlobOpener, opts: UploadOptions = {}): Promise<UploadOutcome> {
    const pushScopes = [repositoryScope(repo, PUSH)];
    if ((await this.headBlob(repo, desc.digest, pushScopes)) !== undefined) return 'exists';
    let location: string | undefined;
    for (const from of opts.mountFrom ?? []) {
      if (from === repo) continue;
      const r = await this.startUpload(repo, { digest: desc.digest, from });
      if ('mounted' in r) return 'mounted';
      location = r.location;
      break;
    }
    if (location === undefined) {
      const r = await this.startUpload(repo);
      if ('mounted' in r) return 'mounted';
      location = r.location;
    }
    let loc: string = location;
    const what = `upload of ${desc.digest} to ${this.host}/${repo}`;
    const withDigest = (loc: string): string => {
      const u = new URL(loc);
      u.searchParams.set('digest', desc.digest);
      return u.toString();
    };
    let res: HttpResponse;
    if (!opts.chunkSize || desc.size <= opts.chunkSize) {
      res = await this.call(pushScopes, {
        method: 'PUT', url: withDigest(loc), retry: false,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: () => open(0, desc.size).pipe(new Counter(0, opts.onProgress)),
      }, what);
    } else {
      let offset = 0;
      while (offset < desc.size) {
        const len = Math.min(opts.chunkSize, desc.size - offset);
        const start = offset;
        const r = await this.call(pushScopes, {
          method: 'PATCH', url: loc, retry: false,
          headers: {
            'content-type': 'application/octet-stream', 'content-length': String(len), 'content-range': `${start}-${start + len - 1}`,
          },
          body: () => open(start, len).pipe(new Counter(start, opts.onProgress)),
        }, what);
        if (r.status !== 202) throw await errorFromResponse(r, what);
        await r.body.dump();
        const range = /^(?:bytes=)?0-(\d+)$/.exec(header(r, 'range') ?? '');
        if (range && Number(range[1]) !== start + len - 1) {
          throw new ImageError(`${what}: the registry holds bytes 0-${range[1]}, expected 0-${start + len - 1}`, 'registry_error');
        }
        const next = header(r, 'location');
        if (next) loc = await this.resolveLocation(next);
        offset += len;
      }
      res = await this.call(pushScopes, { method: 'PUT', url: withDigest(loc), headers: { 'content-length': '0' }, retry: false }, what);
    }
    if (res.status !== 201 && res.status !== 204) throw await errorFromResponse(res, what);
    await res.body.dump();
    const got = header(res, 'docker-content-digest');
    if (got && got !== desc.digest) throw new DigestMismatchError(desc.digest, got, `uploaded ${what}`);
    return 'uploaded';
  }

  /** PUT a manifest or index by tag or digest; returns the digest the registry confirmed. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(bytes);
    const what = `push of manifest ${this.host}/${repo}${reference.includes(':') ? '@' : ':'}${reference}`;
    const res = await this.call([repositoryScope(repo, PUSH)], {
      method: 'PUT', url: `/v2/${repo}/manifests/${reference}`, body: bytes, retry: true,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    }, what);
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await errorFromResponse(res, what);
    await res.body.dump();
    const got = header(res, 'docker-content-digest');
    if (got && got !== digest) throw new DigestMismatchError(digest, got, what);
    return digest;
  }

  /** The tags of a repository. */
  async listTags(repo: string): Promise<string[]> {
    const what = `tags of ${this.host}/${repo}`;
    const res = await this.call([repositoryScope(repo, PULL)], { method: 'GET', url: `/v2/${repo}/tags/list` }, what);
    if (res.status !== 200) throw await errorFromResponse(res, what);
    const v = JSON.parse((await readBody(res, LIMITS.manifestBytes, what)).toString('utf8')) as { tags?: unknown };
    return Array.isArray(v.tags) ? v.tags.filter((t): t is string => typeof t === 'string') : [];
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

export { redactUrl };
