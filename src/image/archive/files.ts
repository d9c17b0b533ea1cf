// The files of an image archive, read safely. A tar archive is unpacked into a private temporary
// directory under numbered names (never under its own paths, so nothing it names can escape);
// its symlinks and hardlinks are kept as aliases resolved inside the archive's namespace. An OCI
// layout directory is read in place, refusing anything that is not a regular file inside it.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, lstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StorageError } from '../../storage/errors.js';
import { cleanEntryPath, entryComponents, printable } from '../../storage/paths.js';
import { readTar } from '../../storage/tar/reader.js';
import { decompress, sniffCompression, type Compression } from '../../storage/unpack/decompress.js';

export interface ArchiveLimits {
  /** Cap on JSON documents (manifest.json, index.json, configs, manifests): default 8 MiB. */
  maxJsonBytes: number;
  /** Cap on the whole archive: default 256 GiB. */
  maxTotalBytes: number;
  /** Cap on entries: default 100 000. */
  maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxJsonBytes: 8 << 20, maxTotalBytes: 256 * 2 ** 30, maxEntries: 100_000 };

export interface ArchiveFiles {
  /** Whether the archive has a regular file at name (after aliases). */
  has(name: string): boolean;
  /** The path on disk of the archive's file name. */
  file(name: string, what: string): string;
  size(name: string): number;
  /** A small file's bytes (JSON), refused past the cap with LIMIT. */
  readSmall(name: string, what: string): Buffer;
  cleanup(): void;
}

const MAX_ALIAS_HOPS = 16;

class TarFiles implements ArchiveFiles {
  readonly files = new Map<string, { path: string; size: number }>();
  readonly aliases = new Map<string, string>();
  constructor(
    readonly dir: string,
    private readonly lim: ArchiveLimits,
  ) {}

  private resolve(name: string): string {
    let n = cleanEntryPath(name, 'archive path');
    for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++) {
      if (this.files.has(n)) return n;
      const a = this.aliases.get(n);
      if (a === undefined) return n;
      n = a;
    }
    throw new StorageError('FORMAT', `archive: too many links resolving "${printable(name)}"`);
  }

  has(name: string): boolean {
    try {
      return this.files.has(this.resolve(name));
    } catch {
      return false;
    }
  }

  file(name: string, what: string): string {
    const f = this.files.get(this.resolve(name));
    if (!f) throw new StorageError('NOT_FOUND', `archive: ${what} "${printable(name)}" is missing`);
    return f.path;
  }

  size(name: string): number {
    return this.files.get(this.resolve(name))?.size ?? 0;
  }

  readSmall(name: string, what: string): Buffer {
    const p = this.file(name, what);
    const size = this.size(name);
    if (size > this.lim.maxJsonBytes) throw new StorageError('LIMIT', `archive: ${what} "${printable(name)}" is ${size} bytes, over the ${this.lim.maxJsonBytes}-byte cap`);
    return readFileSync(p);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Unpacks an archive (tar, possibly compressed) into a private temporary directory. */
export async function openTarArchive(source: string | Readable | AsyncIterable<Buffer>, limits: Partial<ArchiveLimits> = {}, tmpBase = tmpdir()): Promise<ArchiveFiles> {
  const lim = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  const dir = mkdtempSync(join(tmpBase, 'berth-archive-'));
  const out = new TarFiles(dir, lim);
  try {
    const input: AsyncIterable<Buffer> = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    let total = 0;
    let n = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const c of decompress(input)) {
        total += c.length;
        if (total > lim.maxTotalBytes) throw new StorageError('LIMIT', `archive: more than ${lim.maxTotalBytes} bytes`);
        yield c;
      }
    }
    for await (const { header, body } of readTar(counted(), { maxEntrySize: lim.maxTotalBytes })) {
      if (++n > lim.maxEntries) throw new StorageError('LIMIT', `archive: more than ${lim.maxEntries} entries`);
      const name = cleanEntryPath(header.name, 'archive entry');
      if (header.type === 'file') {
        const path = join(dir, String(n));
        const fd = openSync(path, 'wx', 0o600);
        try {
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          }
        } finally {
          closeSync(fd);
        }
        out.files.set(name, { path, size: header.size });
        out.aliases.delete(name);
      } else if (header.type === 'link') {
        out.aliases.set(name, cleanEntryPath(header.linkname, 'archive link'));
      } else if (header.type === 'symlink') {
        // relative to the link's directory, inside the archive
        const base = entryComponents(name).slice(0, -1);
        const target = header.linkname.startsWith('/') ? header.linkname : [...base, header.linkname].join('/');
        out.aliases.set(name, cleanEntryPath(target, 'archive symlink'));
      }
      // directories and anything else carry nothing an image needs
    }
    return out;
  } catch (e) {
    out.cleanup();
    throw e;
  }
}

class DirFiles implements ArchiveFiles {
  constructor(
    readonly dir: string,
    private readonly lim: ArchiveLimits,
  ) {}

  private stat(name: string) {
    const comps = entryComponents(name, 'layout path');
    let p = this.dir;
    for (let i = 0; i < comps.length; i++) {
      p = join(p, comps[i]!);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        return undefined;
      }
      if (i < comps.length - 1 ? !st.isDirectory() : !st.isFile()) {
        if (st.isSymbolicLink()) throw new StorageError('HOSTILE', `OCI layout: "${printable(name)}" goes through a symlink`);
        return undefined;
      }
      if (i === comps.length - 1) return { path: p, size: st.size };
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.stat(name) !== undefined;
  }

  file(name: string, what: string): string {
    const s = this.stat(name);
    if (!s) throw new StorageError('NOT_FOUND', `OCI layout: ${what} "${printable(name)}" is missing`);
    return s.path;
  }

  size(name: string): number {
    return this.stat(name)?.size ?? 0;
  }

  readSmall(name: string, what: string): Buffer {
    const s = this.stat(name);
    if (!s) throw new StorageError('NOT_FOUND', `OCI layout: ${what} "${printable(name)}" is missing`);
    if (s.size > this.lim.maxJsonBytes) throw new StorageError('LIMIT', `OCI layout: ${what} "${printable(name)}" is ${s.size} bytes, over the ${this.lim.maxJsonBytes}-byte cap`);
    return readFileSync(s.path);
  }

  cleanup(): void {}
}

export function openLayoutDir(dir: string, limits: Partial<ArchiveLimits> = {}): ArchiveFiles {
  return new DirFiles(dir, { ...DEFAULT_ARCHIVE_LIMITS, ...limits });
}

export interface BlobFacts {
  digest: string;
  size: number;
  compression: Compression;
  /** sha256 of the uncompressed content (with diffId: true). */
  diffId?: string;
}

/** Digest, size and (optionally) diff_id of a file, in one read. */
export async function blobFacts(path: string, opts: { diffId?: boolean } = {}): Promise<BlobFacts> {
  const raw = createHash('sha256');
  let size = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  async function* tee(): AsyncGenerator<Buffer> {
    for await (const c of stream as AsyncIterable<Buffer>) {
      if (size === 0) compression = sniffCompression(c);
      raw.update(c);
      size += c.length;
      yield c;
    }
  }
  let compression: Compression = 'none';
  const diff = createHash('sha256');
  if (opts.diffId) {
    for await (const c of decompress(tee())) diff.update(c);
  } else {
    for await (const _ of tee()) {
      /* hashing only */
    }
  }
  const digest = `sha256:${raw.digest('hex')}`;
  const facts: BlobFacts = { digest, size, compression };
  if (opts.diffId) facts.diffId = compression === 'none' ? digest : `sha256:${diff.digest('hex')}`;
  return facts;
}

export const randomName = () => randomBytes(6).toString('hex');
