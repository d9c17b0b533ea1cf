// A streaming tar reader for hostile input: ustar, GNU long names and PAX (with binary values:
// SCHILY.xattr.security.capability is raw bytes, which tar-stream's UTF-8 PAX decoding mangles).
// Every length it trusts is capped: header extensions, entry sizes, paths.
import { StorageError } from '../errors.js';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, fractional from PAX. */
  mtime: number;
  atime?: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname?: string;
  gname?: string;
  /** SCHILY.xattr.* from PAX, values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

export interface TarReadLimits {
  /** Cap on one PAX or GNU long-name extension (default 1 MiB). */
  maxHeaderBytes: number;
  /** Cap on one entry's data (default 16 GiB). */
  maxEntrySize: number;
  /** Cap on a path or link target in bytes (default 4096, PATH_MAX). */
  maxPathBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarReadLimits = { maxHeaderBytes: 1 << 20, maxEntrySize: 16 * 2 ** 30, maxPathBytes: 4096 };

/** Pulls exact byte counts out of an async iterable of chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length) {
        const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
        this.chunks.push(c);
        this.have += c.length;
      }
    }
    return this.have >= n;
  }

  /** Exactly n bytes, or null at a clean end (nothing left); throws on a short read. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.have === 0) return null;
      throw new StorageError('FORMAT', 'tar: unexpected end of archive');
    }
    const out = this.take(n);
    return out;
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length >= n) {
      const c = this.chunks[0]!;
      const out = c.subarray(0, n);
      if (c.length === n) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
      this.have -= n;
      return out;
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        parts.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.have -= n;
    return Buffer.concat(parts, n);
  }

  /** Up to n bytes as they arrive (at least 1); throws at the end of input. */
  async some(n: number): Promise<Buffer> {
    if (this.have === 0 && !(await this.fill(1))) throw new StorageError('FORMAT', 'tar: unexpected end of archive inside an entry');
    return this.take(Math.min(n, this.chunks[0]!.length));
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.some(n)).length;
  }

  /** Reads and discards everything left (the digest of a layer covers trailing bytes too). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.have = 0;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }
}

function cstr(b: Buffer, off: number, len: number): Buffer {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return z >= 0 ? s.subarray(0, z) : s;
}

/** Octal (optionally space/NUL padded) or GNU base-256 numbers. */
export function parseNumber(b: Buffer, off: number, len: number, field: string): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    if (f[0] === 0xff) throw new StorageError('FORMAT', `tar: negative ${field}`);
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) {
      v = v * 256 + f[i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw new StorageError('LIMIT', `tar: ${field} is too large`);
    }
    return v;
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ \0]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new StorageError('FORMAT', `tar: bad ${field} field "${s.slice(0, 20)}"`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new StorageError('LIMIT', `tar: ${field} is too large`);
  return v;
}

function checksumOk(h: Buffer): boolean {
  const want = parseNumber(h, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** PAX records: "<len> key=value\n", len counting the whole record in bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // padding
    const sp = buf.indexOf(0x20, off);
    if (sp < 0 || sp - off > 20) throw new StorageError('FORMAT', 'tar: malformed PAX record');
    const len = Number(buf.toString('latin1', off, sp));
    if (!Number.isSafeInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a)
      throw new StorageError('FORMAT', 'tar: malformed PAX record length');
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new StorageError('FORMAT', 'tar: malformed PAX record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarItem {
  header: TarHeader;
  /** The entry's data; must be consumed (or abandoned: the reader skips what is left). */
  body: AsyncIterable<Buffer>;
}

function paxNumber(v: Buffer | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const s = v.toString('latin1');
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(s)) throw new StorageError('FORMAT', `tar: bad PAX ${field} "${s.slice(0, 30)}"`);
  const n = Number(s);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER) throw new StorageError('LIMIT', `tar: PAX ${field} is too large`);
  return n;
}

/**
 * Reads a tar stream entry by entry. After the end-of-archive blocks, the rest of the input is
 * read and discarded, so a digest computed upstream covers the whole stream.
 */
export async function* readTar(source: AsyncIterable<Buffer>, limits: Partial<TarReadLimits> = {}): AsyncGenerator<TarItem> {
  const lim = { ...DEFAULT_TAR_LIMITS, ...limits };
  const q = new ByteQueue(source[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  const readExtension = async (size: number, what: string): Promise<Buffer> => {
    if (size > lim.maxHeaderBytes) throw new StorageError('LIMIT', `tar: ${what} of ${size} bytes exceeds the ${lim.maxHeaderBytes}-byte cap`);
    const data = (await q.read(size)) ?? Buffer.alloc(0);
    if (data.length < size) throw new StorageError('FORMAT', 'tar: unexpected end of archive');
    await q.skip((512 - (size % 512)) % 512);
    return Buffer.from(data);
  };
  for (;;) {
    const h = await q.read(512);
    if (h === null) break; // clean end without the zero blocks, as Go's reader allows
    if (h.every((c) => c === 0)) {
      await q.drain();
      break;
    }
    if (!checksumOk(h)) throw new StorageError('FORMAT', 'tar: header checksum mismatch (corrupt, or not a tar archive)');
    const flag = String.fromCharCode(h[156]!);
    const size = parseNumber(h, 124, 12, 'size');
    if (flag === 'x' || flag === 'g') {
      const recs = parsePax(await readExtension(size, 'PAX header'));
      if (flag === 'g') global = new Map([...global, ...recs]);
      else pax = recs;
      continue;
    }
    if (flag === 'L' || flag === 'K') {
      const s = cstr(await readExtension(size, 'GNU long name'), 0, size).toString('utf8');
      if (flag === 'L') longName = s;
      else longLink = s;
      continue;
    }
    const type = TYPES[flag];
    if (!type) {
      const what = flag === 'S' ? 'GNU sparse file' : flag === 'V' ? 'volume header' : flag === 'M' ? 'multi-volume continuation' : `entry type "${flag.replace(/[^\x20-\x7e]/g, '?')}"`;
      throw new StorageError('FORMAT', `tar: unsupported ${what}`);
    }
    const ext = new Map([...global, ...(pax ?? [])]);
    pax = undefined;
    for (const k of ext.keys()) {
      if (k.startsWith('GNU.sparse.')) throw new StorageError('FORMAT', 'tar: unsupported PAX sparse file');
    }
    const magic = h.toString('latin1', 257, 263);
    let name = cstr(h, 0, 100).toString('utf8');
    if (magic === 'ustar\0') {
      const prefix = cstr(h, 345, 155);
      if (prefix.length) name = prefix.toString('utf8') + '/' + name;
    }
    if (longName !== undefined) name = longName;
    if (ext.has('path')) name = ext.get('path')!.toString('utf8');
    let linkname = cstr(h, 157, 100).toString('utf8');
    if (longLink !== undefined) linkname = longLink;
    if (ext.has('linkpath')) linkname = ext.get('linkpath')!.toString('utf8');
    longName = longLink = undefined;
    const realSize = paxNumber(ext.get('size'), 'size') ?? size;
    if (Buffer.byteLength(name) > lim.maxPathBytes || Buffer.byteLength(linkname) > lim.maxPathBytes)
      throw new StorageError('LIMIT', `tar: a path of more than ${lim.maxPathBytes} bytes ("${name.slice(0, 60)}...")`);
    if (name.includes('\0') || linkname.includes('\0')) throw new StorageError('FORMAT', 'tar: NUL in a path');
    // Links, directories, devices and fifos carry no data whatever their size field says (as Go's
    // archive/tar, which docker and containerd use: both readers must see the same entries).
    const dataSize = type === 'file' ? realSize : 0;
    if (dataSize < 0 || dataSize > lim.maxEntrySize)
      throw new StorageError('LIMIT', `tar: entry "${name.slice(0, 100)}" claims ${dataSize} bytes, over the ${lim.maxEntrySize}-byte cap`);
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of ext) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    const header: TarHeader = {
      name,
      type: name.endsWith('/') && type === 'file' && flag === '\0' ? 'dir' : type,
      mode: parseNumber(h, 100, 8, 'mode') & 0o7777,
      uid: paxNumber(ext.get('uid'), 'uid') ?? parseNumber(h, 108, 8, 'uid'),
      gid: paxNumber(ext.get('gid'), 'gid') ?? parseNumber(h, 116, 8, 'gid'),
      size: dataSize,
      mtime: paxNumber(ext.get('mtime'), 'mtime') ?? parseNumber(h, 136, 12, 'mtime'),
      linkname,
      devmajor: parseNumber(h, 329, 8, 'devmajor'),
      devminor: parseNumber(h, 337, 8, 'devminor'),
      xattrs,
    };
    const atime = paxNumber(ext.get('atime'), 'atime');
    if (atime !== undefined) header.atime = atime;
    const uname = ext.get('uname')?.toString('utf8') ?? cstr(h, 265, 32).toString('utf8');
    const gname = ext.get('gname')?.toString('utf8') ?? cstr(h, 297, 32).toString('utf8');
    if (uname) header.uname = uname;
    if (gname) header.gname = gname;
    if (header.type === 'dir') header.size = 0;
    let left = header.size;
    const pad = (512 - (left % 512)) % 512;
    let consumed = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: async function* () {
        if (consumed) throw new Error('tar: entry body read twice');
        consumed = true;
        if (header.type !== 'file') return;
        while (left > 0) {
          const c = await q.some(Math.min(left, 1 << 20));
          left -= c.length;
          yield c;
        }
      },
    };
    yield { header, body };
    if (left > 0) await q.skip(left);
    await q.skip(pad);
  }
}
