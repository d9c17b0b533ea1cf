// The content store: blobs addressed by digest under <root>/blobs/<alg>/<hex>.
//
// - Every blob is verified while it streams in and lands by rename, so a blob file exists only
//   complete and correct; a crash leaves at most a file under <root>/ingest/.
// - Downloads of a known digest stream into <root>/ingest/<alg>-<hex>; an interrupted one is kept
//   and resumed from where it stopped (the source is asked for the rest, e.g. with HTTP Range).
// - One ingest per digest at a time (a cross-process lock); a second ingest of a stored blob is
//   a no-op.
// - No reference counters: prune() computes what is reachable from the roots it is given (the
//   image store's names) plus live leases (pulls in progress), and removes the rest.
import {
  closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readFileSync,
  readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContentStore, Descriptor } from './types.js';
import { DIGEST_ALGORITHMS, digestOf, newHash, parseDigest, type DigestAlgorithm } from './digest.js';
import { BlobNotFoundError, DigestMismatchError, ImageError, IncompleteContentError } from './errors.js';
import { fsyncDir, processAlive, processStartTime, writeFileAtomic } from './fsutil.js';
import { lock, tryLock } from './lock.js';
import { childDescriptors, isIndexType, isManifestType, parseManifest } from './manifest.js';

/**
 * A source that can start at an offset: returns a stream of the blob from `offset`, or from 0
 * when it cannot seek (then `offset` in the result is 0 and the store starts over).
 */
export type BlobSource = (offset: number) => Promise<{ stream: Readable; offset: number }>;

export interface IngestExpect {
  digest: string;
  size?: number;
}

export interface IngestOptions {
  /** Called with the bytes of the blob held so far (including a resumed prefix). */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface BlobInfo {
  digest: string;
  size: number;
  /** Last modification (ms since the epoch). */
  mtimeMs: number;
}

export interface PruneOptions {
  /** Also remove interrupted downloads (not in progress) older than this; default 0 (all). */
  ingestMaxAgeMs?: number;
  /** List what would go without removing anything. */
  dryRun?: boolean;
}

export interface PruneResult {
  removed: string[];
  reclaimedBytes: number;
  removedIngests: string[];
}

/** Roots of reachability: descriptors (manifests and indexes are walked) or bare digests. */
export type Roots = Iterable<Descriptor | string>;

/** A lease keeps blobs alive while a pull or load is in progress (before names point at them). */
export interface Lease {
  readonly id: string;
  /** Adds digests to the lease; they survive prune() from now on. */
  add(...digests: string[]): Promise<void>;
  release(): Promise<void>;
}

/** Counts, hashes and limits the bytes flowing through. Defined on first use: `extends Transform`
 * at import would load node:stream for every CLI command (~2 ms), and few pull or load. */
let verifierClass: ReturnType<typeof defineVerifier> | undefined;
const Verifier = () => (verifierClass ??= defineVerifier());
function defineVerifier() {
  return class Verifier extends Transform {
    readonly hash;
    bytes: number;
    constructor(
      algorithm: DigestAlgorithm,
      start: number,
      private readonly limit: number | undefined,
      private readonly onProgress: ((n: number) => void) | undefined,
      private readonly label: string,
    ) {
      super();
      this.hash = newHash(algorithm);
      this.bytes = start;
    }
    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      this.bytes += chunk.length;
      if (this.limit !== undefined && this.bytes > this.limit) {
        cb(new DigestMismatchError(`${this.limit} bytes`, `more than ${this.limit} bytes`, `size of ${this.label}`));
        return;
      }
      this.hash.update(chunk);
      this.onProgress?.(this.bytes);
      cb(null, chunk);
    }
  };
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

let leaseCounter = 0;

export class FileContentStore implements ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  readonly leasesDir: string;
  /** In-process dedupe of concurrent ingests of one digest (the lock covers other processes). */
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.ingestDir = join(root, 'ingest');
    this.leasesDir = join(root, 'leases');
    for (const alg of Object.keys(DIGEST_ALGORITHMS)) mkdirSync(join(this.blobsDir, alg), { recursive: true, mode: 0o700 });
    mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.leasesDir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.blobsDir, algorithm, hex);
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  info(digest: string): BlobInfo | undefined {
    try {
      const st = statSync(this.path(digest));
      return { digest, size: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** The blob's bytes; refuses blobs larger than maxBytes (default 64 MiB). */
  read(digest: string, maxBytes = 64 * 1024 * 1024): Buffer {
    const info = this.info(digest);
    if (!info) throw new BlobNotFoundError(digest);
    if (info.size > maxBytes) throw new ImageError(`content ${digest} is ${info.size} bytes, more than the ${maxBytes} expected here`, 'too_large');
    return readFileSync(this.path(digest));
  }

  readJSON<T>(digest: string): T {
    return JSON.parse(this.read(digest).toString('utf8')) as T;
  }

  /** A stream of the blob (for unpackers and uploads). */
  createReadStream(digest: string, opts: { start?: number } = {}): Readable {
    if (!this.has(digest)) throw new BlobNotFoundError(digest);
    return createReadStream(this.path(digest), { start: opts.start ?? 0 });
  }

  put(data: Buffer | string, expectedDigest?: string): string {
    const algorithm = expectedDigest ? parseDigest(expectedDigest).algorithm : 'sha256';
    const digest = digestOf(data, algorithm);
    if (expectedDigest !== undefined && digest !== expectedDigest) throw new DigestMismatchError(expectedDigest, digest);
    if (this.has(digest)) return digest;
    // write in ingest/ (same filesystem), fsync, rename into blobs/: atomic
    const tmp = join(this.ingestDir, `put-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    this.commit(tmp, digest);
    return digest;
  }

  /** Moves a verified temp file into place. */
  private commit(tmp: string, digest: string): void {
    const dest = this.path(digest);
    renameSync(tmp, dest);
    fsyncDir(join(dest, '..'));
  }

  /** Where an interrupted download of a digest is kept. */
  ingestPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.ingestDir, `${algorithm}-${hex}`);
  }

  /** Bytes of an interrupted download of this digest held for a resume (0 when none). */
  partialSize(digest: string): number {
    try {
      return statSync(this.ingestPath(digest)).size;
    } catch {
      return 0;
    }
  }

  /**
   * Streams a blob in. With `expected`, the content must have that digest (and size, when
   * given) or nothing is kept; with a BlobSource, an interrupted earlier download resumes.
   * Returns the digest.
   */
  ingest(source: Readable | BlobSource, expected?: IngestExpect, opts: IngestOptions = {}): Promise<string> {
    if (!expected) return this.ingestUnknown(source, opts);
    parseDigest(expected.digest);
    if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw new ImageError(`invalid expected size ${expected.size} for ${expected.digest}`, 'invalid_size');
    }
    const running = this.inflight.get(expected.digest);
    if (running) {
      if (typeof source !== 'function') source.destroy();
      return running.then(() => this.checkExisting(expected));
    }
    const p = this.ingestKnown(source, expected, opts).finally(() => this.inflight.delete(expected.digest));
    this.inflight.set(expected.digest, p);
    return p;
  }

  private checkExisting(expected: IngestExpect): string {
    const info = this.info(expected.digest);
    if (!info) throw new BlobNotFoundError(expected.digest);
    if (expected.size !== undefined && info.size !== expected.size) {
      throw new DigestMismatchError(`${expected.size} bytes`, `${info.size} bytes`, `size of ${expected.digest}`);
    }
    return expected.digest;
  }

  private async ingestKnown(source: Readable | BlobSource, expected: IngestExpect, opts: IngestOptions): Promise<string> {
    const { digest } = expected;
    if (this.has(digest)) {
      if (typeof source !== 'function') source.destroy();
      return this.checkExisting(expected);
    }
    const partial = this.ingestPath(digest);
    const release = await lock(partial, { signal: opts.signal });
    try {
      if (this.has(digest)) {
        if (typeof source !== 'function') source.destroy();
        return this.checkExisting(expected);
      }
      const { algorithm } = parseDigest(digest);
      let offset = typeof source === 'function' ? this.partialSize(digest) : 0;
      if (expected.size !== undefined && offset > expected.size) offset = 0;
      let stream: Readable;
      if (typeof source === 'function') {
        const got = await source(offset);
        stream = got.stream;
        if (got.offset !== offset) {
          if (got.offset !== 0) {
            stream.destroy();
            throw new ImageError(`the source of ${digest} resumed at byte ${got.offset}, not ${offset}`, 'bad_resume');
          }
          offset = 0;
        }
      } else {
        stream = source;
      }
      const verifier = new (Verifier())(algorithm, offset, expected.size, opts.onProgress, digest);
      if (offset > 0) {
        // the kept prefix counts towards the digest: hash it again (it was never trusted)
        for await (const chunk of createReadStream(partial, { end: offset - 1 })) verifier.hash.update(chunk as Buffer);
      }
      const out = createWriteStream(partial, { flags: offset > 0 ? 'r+' : 'w', start: offset, mode: 0o600 });
      try {
        await pipeline(stream, verifier, out, { signal: opts.signal });
      } catch (e) {
        // verification failures drop the partial; interruptions keep it for a resume
        if (e instanceof DigestMismatchError) rmSync(partial, { force: true });
        throw e;
      }
      if (expected.size !== undefined && verifier.bytes < expected.size) {
        throw new IncompleteContentError(digest, verifier.bytes, expected.size);
      }
      const actual = `${algorithm}:${verifier.hash.digest('hex')}`;
      if (actual !== digest) {
        rmSync(partial, { force: true });
        throw new DigestMismatchError(digest, actual);
      }
      const fd = openSync(partial, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.commit(partial, digest);
      return digest;
    } finally {
      await release();
    }
  }

  private async ingestUnknown(source: Readable | BlobSource, opts: IngestOptions): Promise<string> {
    const stream = typeof source === 'function' ? (await source(0)).stream : source;
    const tmp = join(this.ingestDir, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const verifier = new (Verifier())('sha256', 0, undefined, opts.onProgress, 'content');
    try {
      await pipeline(stream, verifier, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), { signal: opts.signal });
      const digest = `sha256:${verifier.hash.digest('hex')}`;
      if (this.has(digest)) {
        unlinkSync(tmp);
        return digest;
      }
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.commit(tmp, digest);
      return digest;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  delete(digest: string): boolean {
    try {
      unlinkSync(this.path(digest));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** Every stored blob. */
  list(): BlobInfo[] {
    const out: BlobInfo[] = [];
    for (const alg of Object.keys(DIGEST_ALGORITHMS)) {
      const dir = join(this.blobsDir, alg);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const hex of names) {
        const digest = `${alg}:${hex}`;
        try {
          parseDigest(digest);
        } catch {
          continue;
        }
        const info = this.info(digest);
        if (info) out.push(info);
      }
    }
    return out;
  }

  /** Digests reachable from roots: manifests and indexes present in the store are walked. */
  reachable(roots: Roots): Set<string> {
    const seen = new Set<string>();
    const queue: (Descriptor | string)[] = [...roots];
    while (queue.length) {
      const r = queue.pop()!;
      const digest = typeof r === 'string' ? r : r.digest;
      if (seen.has(digest)) continue;
      seen.add(digest);
      if (typeof r === 'string' || !(isManifestType(r.mediaType) || isIndexType(r.mediaType))) continue;
      if (!this.has(digest)) continue;
      try {
        queue.push(...childDescriptors(parseManifest(this.read(digest), r.mediaType)));
      } catch {
        // a blob that does not parse as what its descriptor says has no children to keep
      }
    }
    return seen;
  }

  private gcLockPath(): string {
    return join(this.root, 'gc');
  }

  /** Starts a lease: blobs added to it survive prune() until release() (or this process dies). */
  async lease(): Promise<Lease> {
    const id = `${process.pid}-${Date.now().toString(36)}-${leaseCounter++}`;
    const file = join(this.leasesDir, `${id}.json`);
    const digests = new Set<string>();
    const start = processStartTime(process.pid);
    const write = (): void => writeFileAtomic(file, JSON.stringify({ pid: process.pid, start, digests: [...digests] }), 0o600);
    await this.underGcLock(write);
    return {
      id,
      add: async (...ds: string[]) => {
        for (const d of ds) parseDigest(d);
        if (ds.every((d) => digests.has(d))) return;
        ds.forEach((d) => digests.add(d));
        // under the gc lock: a prune either saw this lease or finished before it
        await this.underGcLock(write);
      },
      release: async () => {
        rmSync(file, { force: true });
      },
    };
  }

  private async underGcLock<T>(fn: () => T): Promise<T> {
    const release = await lock(this.gcLockPath());
    try {
      return fn();
    } finally {
      await release();
    }
  }

  /** Digests held by live leases; leases of dead processes are removed. */
  private leasedDigests(): Set<string> {
    const out = new Set<string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.leasesDir);
    } catch {
      /* none */
    }
    for (const n of names) {
      const file = join(this.leasesDir, n);
      if (!n.endsWith('.json')) {
        rmSync(file, { force: true }); // a temp file of an interrupted write
        continue;
      }
      try {
        const l = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; start?: string; digests: string[] };
        if (!processAlive(l.pid, l.start)) {
          rmSync(file, { force: true });
          continue;
        }
        for (const d of l.digests) out.add(d);
      } catch {
        rmSync(file, { force: true });
      }
    }
    return out;
  }

  /**
   * Removes every blob not reachable from `roots` (evaluated under the store's gc lock, so pass
   * a function that reads the image store then) nor held by a live lease, and interrupted
   * downloads that are not in progress.
   */
  async prune(roots: Roots | (() => Roots), opts: PruneOptions = {}): Promise<PruneResult> {
    return this.underGcLockAsync(async () => {
      const keep = this.reachable(typeof roots === 'function' ? roots() : roots);
      const leased = this.leasedDigests();
      const result: PruneResult = { removed: [], reclaimedBytes: 0, removedIngests: [] };
      for (const b of this.list()) {
        if (keep.has(b.digest) || leased.has(b.digest)) continue;
        result.removed.push(b.digest);
        result.reclaimedBytes += b.size;
        if (!opts.dryRun) this.delete(b.digest);
      }
      const maxAge = opts.ingestMaxAgeMs ?? 0;
      for (const n of readdirSync(this.ingestDir)) {
        const file = join(this.ingestDir, n);
        let st;
        try {
          st = statSync(file);
        } catch {
          continue;
        }
        if (Date.now() - st.mtimeMs < maxAge) continue;
        const m = /^(sha256|sha512)-([0-9a-f]+)$/.exec(n);
        if (m) {
          const digest = `${m[1]}:${m[2]}`;
          if (leased.has(digest)) continue;
          const release = await tryLock(file);
          if (!release) continue; // a download is writing it
          try {
            if (!opts.dryRun) rmSync(file, { force: true });
          } finally {
            await release();
          }
        } else {
          // put-/tmp- files belong to a live writer only for an instant; leave young ones alone
          const pid = Number(/^(?:put|tmp)-(\d+)-/.exec(n)?.[1]);
          if (pid && processAlive(pid, undefined) && Date.now() - st.mtimeMs < 60 * 60 * 1000) continue;
          if (!opts.dryRun) rmSync(file, { force: true });
        }
        result.removedIngests.push(n);
      }
      return result;
    });
  }

  private async underGcLockAsync<T>(fn: () => Promise<T>): Promise<T> {
    const release = await lock(this.gcLockPath());
    try {
      return await fn();
    } finally {
      await release();
    }
  }
}

export function openContentStore(root: string): FileContentStore {
  return new FileContentStore(root);
}

/** Wraps a Buffer as a BlobSource (for tests and local copies). */
export function bufferSource(data: Buffer): BlobSource {
  return async (offset) => ({ stream: Readable.from([data.subarray(offset)]), offset });
}
