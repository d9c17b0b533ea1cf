// A streaming tar writer (ustar + PAX) for layer diffs, exports and archives. PAX carries what
// ustar cannot: long or non-ASCII paths, big sizes and ids, sub-second times and extended
// attributes as raw bytes (SCHILY.xattr.*), as Go's archive/tar and GNU tar write them.
import { createReadStream } from 'node:fs';
import type { TarEntryType } from './reader.js';

export interface TarWriteHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  /** Data size for files (the body must have exactly this many bytes; it is padded or cut). */
  size?: number;
  mtime?: number;
  atime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  xattrs?: Map<string, Buffer>;
}

export interface TarWriteItem {
  header: TarWriteHeader;
  /** File data: bytes, a path to read, or chunks. */
  body?: Buffer | string | AsyncIterable<Buffer>;
}

const ZERO = Buffer.alloc(1024);

function octal(buf: Buffer, off: number, len: number, v: number): boolean {
  const s = Math.floor(v).toString(8);
  if (v < 0 || s.length > len - 1) return false;
  buf.write(s.padStart(len - 1, '0') + '\0', off, len, 'latin1');
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const isAscii = (s: string) => /^[\x01-\x7f]*$/.test(s);

function rawHeader(name: string, flag: string, h: TarWriteHeader, size: number, linkname: string): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, Math.max(0, Math.floor(h.mtime ?? 0)));
  b.write(flag, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  if (h.uname && Buffer.byteLength(h.uname) <= 32) b.write(h.uname, 265, 32, 'utf8');
  if (h.gname && Buffer.byteLength(h.gname) <= 32) b.write(h.gname, 297, 32, 'utf8');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** The header blocks of one entry (a PAX extension first when ustar cannot hold it). */
export function encodeHeader(h: TarWriteHeader): Buffer {
  const size = h.type === 'file' ? h.size ?? 0 : 0;
  let name = h.name;
  if (h.type === 'dir' && !name.endsWith('/')) name += '/';
  const linkname = h.linkname ?? '';
  const pax: Buffer[] = [];
  let ustarName = name;
  if (!isAscii(name) || Buffer.byteLength(name) > 100) {
    pax.push(paxRecord('path', Buffer.from(name, 'utf8')));
    ustarName = name.replace(/[^\x20-\x7e]/g, '_').slice(-100);
  }
  let ustarLink = linkname;
  if (!isAscii(linkname) || Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
    ustarLink = '';
  }
  if (size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(size))));
  if ((h.uid ?? 0) > 0o7777777) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if ((h.gid ?? 0) > 0o7777777) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  const frac = (t: number) => (Number.isInteger(t) ? String(t) : t.toFixed(9).replace(/0+$/, ''));
  if (h.mtime !== undefined && (!Number.isInteger(h.mtime) || h.mtime < 0 || h.mtime > 0o77777777777)) pax.push(paxRecord('mtime', Buffer.from(frac(h.mtime))));
  if (h.atime !== undefined) pax.push(paxRecord('atime', Buffer.from(frac(h.atime))));
  for (const [k, v] of h.xattrs ?? []) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = rawHeader(ustarName, TYPEFLAG[h.type], h, size > 0o77777777777 ? 0 : size, ustarLink);
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const ph = rawHeader(`PaxHeaders/${ustarName.slice(-80)}`, 'x', { ...h, uid: 0, gid: 0, mode: 0o644 }, data.length, '');
  return Buffer.concat([ph, data, Buffer.alloc((512 - (data.length % 512)) % 512), main]);
}

async function* bodyChunks(body: TarWriteItem['body']): AsyncIterable<Buffer> {
  if (body === undefined) return;
  if (Buffer.isBuffer(body)) yield body;
  else if (typeof body === 'string') yield* createReadStream(body) as AsyncIterable<Buffer>;
  else yield* body;
}

/** Tar bytes for the items, ending with the two zero blocks. */
export async function* writeTar(items: AsyncIterable<TarWriteItem> | Iterable<TarWriteItem>): AsyncGenerator<Buffer> {
  for await (const { header, body } of items) {
    yield encodeHeader(header);
    if (header.type !== 'file') continue;
    const size = header.size ?? 0;
    let written = 0;
    for await (const chunk of bodyChunks(body)) {
      if (written >= size) break; // the file grew while being read: cut at the announced size
      const c = chunk.length > size - written ? chunk.subarray(0, size - written) : chunk;
      written += c.length;
      yield c;
    }
    if (written < size) {
      // the file shrank while being read: keep the archive well-formed
      for (let left = size - written; left > 0; left -= Math.min(left, 65536)) yield Buffer.alloc(Math.min(left, 65536));
    }
    const pad = (512 - (size % 512)) % 512;
    if (pad) yield ZERO.subarray(0, pad);
  }
  yield ZERO;
}
