// Shared by the storage tests: tar archives built in memory (with tar-stream, an independent
// writer, and raw blocks for what no sane writer produces), sandboxes whose outside is checked
// for changes, and small file-tree snapshots.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tarStream from 'tar-stream';
import type { ContentStore } from '../../src/image/types.js';

export interface FixtureEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** A tar archive written by tar-stream. */
export async function makeTar(entries: FixtureEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = e.body === undefined ? undefined : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
    const header: Partial<tarStream.Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      size: type === 'file' ? body?.length ?? 0 : 0,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) header.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') pack.entry(header, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** One raw 512-byte ustar header with a correct checksum; numeric fields as given (octal strings). */
export function rawHeader(f: { name: string; type?: string; size?: string; mode?: string; linkname?: string }): Buffer {
  const b = Buffer.alloc(512);
  b.write(f.name, 0, 100, 'utf8');
  b.write((f.mode ?? '0000644') + '\0', 100, 8, 'latin1');
  b.write('0000000\0', 108, 8, 'latin1');
  b.write('0000000\0', 116, 8, 'latin1');
  b.write((f.size ?? '00000000000') + '\0', 124, 12, 'latin1');
  b.write('14000000000\0', 136, 12, 'latin1');
  b.write(f.type ?? '0', 156, 1, 'latin1');
  if (f.linkname) b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Sandbox {
  /** The sandbox: `dest` (the layer) and `outside` (must never change) inside it. */
  dir: string;
  dest: string;
  outside: string;
  /** Everything outside dest, as text (names, kinds, modes, contents, link targets). */
  outsideState(): string;
  cleanup(): void;
}

export function treeState(dir: string, skip?: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    if (skip !== undefined && p === skip) return;
    const st = lstatSync(p);
    let what = `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} n${st.nlink}`;
    if (st.isFile()) what += ` ${readFileSync(p).toString('hex').slice(0, 64)}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
    out.push(what);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), `${rel}/${n}`);
  };
  walk(dir, '.');
  return out.join('\n');
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'berth-storage-'));
  const dest = join(dir, 'layer');
  const outside = join(dir, 'outside');
  mkdirSync(dest, { mode: 0o755 });
  mkdirSync(join(outside, 'etc'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'do not touch\n');
  writeFileSync(join(outside, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  return {
    dir,
    dest,
    outside,
    outsideState: () => treeState(dir, dest),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const isRoot = process.getuid?.() === 0;

/** A minimal directory-backed ContentStore (the interface only). */
export function dirStore(root: string): ContentStore & { digests(): string[] } {
  mkdirSync(root, { recursive: true });
  const p = (d: string) => join(root, d.replace(':', '-'));
  return {
    root,
    has: (d) => existsSync(p(d)),
    path: (d) => p(d),
    readJSON: <T>(d: string) => JSON.parse(readFileSync(p(d), 'utf8')) as T,
    put(data, expected) {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
      const d = sha256(b);
      if (expected && expected !== d) throw new Error(`digest mismatch ${d} != ${expected}`);
      writeFileSync(p(d), b);
      return d;
    },
    async ingest(source, expected) {
      const parts: Buffer[] = [];
      for await (const c of source) parts.push(c as Buffer);
      const b = Buffer.concat(parts);
      const d = sha256(b);
      if (expected && (expected.digest !== d || (expected.size !== undefined && expected.size !== b.length))) throw new Error('ingest mismatch');
      const tmp = p(d) + '.tmp';
      writeFileSync(tmp, b);
      renameSync(tmp, p(d));
      return d;
    },
    digests: () => readdirSync(root).map((f) => f.replace('-', ':')),
  };
}

