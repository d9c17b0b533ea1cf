// Directory trees as tar entries: a whole tree (export), an overlay upper directory (its
// whiteouts and opaque directories turned into docker's `.wh.` form), or the difference between
// a copied parent and a container (vfs, btrfs).
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { FsHelper } from '../helper.js';
import type { TarWriteHeader, TarWriteItem } from '../tar/writer.js';
import { isForbiddenXattr, OVERLAY_OPAQUE_XATTR, WH_OPAQUE, WH_PREFIX } from '../unpack/whiteout.js';
import { USER_OPAQUE_XATTR } from '../rootless.js';

export type TreeStat = BigIntStats;

const lstatB = (p: string): TreeStat | null => {
  try {
    return lstatSync(p, { bigint: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
};

const S_IFMT = 0o170000n;
const kindOf = (st: TreeStat) =>
  st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket';

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}
const secs = (ns: bigint) => Number(ns / 1000n) / 1e6;

export function isOverlayWhiteout(st: TreeStat): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

export interface WalkContext {
  helper: FsHelper;
  /** dev:ino -> the first name of a hardlinked inode in this archive */
  links: Map<string, string>;
}

export function newWalkContext(helper: FsHelper): WalkContext {
  return { helper, links: new Map() };
}

/** The tar entry for one file (null for sockets, which archives do not carry). */
export async function entryFor(ctx: WalkContext, abs: string, name: string, st: TreeStat): Promise<TarWriteItem | null> {
  const kind = kindOf(st);
  if (kind === 'socket') return null;
  const h: TarWriteHeader = {
    name,
    type: kind,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: secs(st.mtimeNs),
  };
  if (kind !== 'dir' && st.nlink > 1n) {
    const key = `${st.dev}:${st.ino}`;
    const first = ctx.links.get(key);
    if (first !== undefined) return { header: { ...h, type: 'link', linkname: first } };
    ctx.links.set(key, name);
  }
  if (kind === 'symlink') h.linkname = readlinkSync(abs);
  if (kind === 'char' || kind === 'block') {
    h.devmajor = major(st.rdev);
    h.devminor = minor(st.rdev);
  }
  const xattrs = await ctx.helper.getXattrs(abs).catch(() => new Map<string, Buffer>());
  for (const k of [...xattrs.keys()]) if (isForbiddenXattr(k)) xattrs.delete(k);
  if (xattrs.size) h.xattrs = xattrs;
  if (kind === 'file') {
    h.size = Number(st.size);
    return { header: h, body: abs };
  }
  return { header: h };
}

const sorted = (dir: string) => readdirSync(dir).sort();

/**
 * Every file under dir, parents first, names relative ("etc/", "etc/passwd"). With
 * overlayUpper, whiteout devices become `.wh.` entries and opaque directories get a
 * `.wh..wh..opq` entry.
 */
export async function* walkTree(ctx: WalkContext, dir: string, opts: { overlayUpper?: boolean; prefix?: string } = {}): AsyncGenerator<TarWriteItem> {
  const rootDev = lstatB(dir)?.dev;
  async function* walk(absDir: string, relDir: string): AsyncGenerator<TarWriteItem> {
    for (const name of sorted(absDir)) {
      const abs = join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      const st = lstatB(abs);
      if (!st) continue;
      if (opts.overlayUpper && isOverlayWhiteout(st)) {
        yield { header: { name: relDir ? `${relDir}/${WH_PREFIX}${name}` : `${WH_PREFIX}${name}`, type: 'file', mode: 0o600, size: 0, mtime: secs(st.mtimeNs) } };
        continue;
      }
      let opaque = false;
      if (opts.overlayUpper && st.isDirectory()) {
        const x = await ctx.helper.getXattrs(abs).catch(() => new Map<string, Buffer>());
        opaque = (x.get(OVERLAY_OPAQUE_XATTR) ?? x.get(USER_OPAQUE_XATTR))?.toString() === 'y'; // user.*: rootless overlay
      }
      const item = await entryFor(ctx, abs, rel, st);
      if (!item) continue;
      yield item;
      if (st.isDirectory()) {
        if (st.dev !== rootDev) continue; // a mount point: its own file system is not part of this tree
        if (opaque) yield { header: { name: `${rel}/${WH_OPAQUE}`, type: 'file', mode: 0o600, size: 0, mtime: secs(st.mtimeNs) } };
        yield* walk(abs, rel);
      }
    }
  }
  yield* walk(dir, opts.prefix ?? '');
}

function sameFile(a: TreeStat, b: TreeStat): boolean {
  return (
    (a.mode & S_IFMT) === (b.mode & S_IFMT) &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.rdev === b.rdev &&
    (a.isDirectory() || (a.size === b.size && a.mtimeNs === b.mtimeNs))
  );
}

/**
 * The changes from lower (the image's top layer, a full copy) to upper (the container's copy):
 * added and modified entries in full, deleted ones as `.wh.` entries, parents first. Compares
 * type, mode, owner, size, device and mtime (as docker's vfs driver does).
 */
export async function* diffTrees(ctx: WalkContext, lower: string, upper: string): AsyncGenerator<TarWriteItem> {
  // collects one directory level at a time: a directory is emitted only when something below it changed
  async function changes(relDir: string): Promise<TarWriteItem[]> {
    const out: TarWriteItem[] = [];
    const upDir = relDir ? join(upper, relDir) : upper;
    const lowDir = relDir ? join(lower, relDir) : lower;
    const upNames = new Set(sorted(upDir));
    let lowNames: string[] = [];
    try {
      lowNames = sorted(lowDir);
    } catch {
      lowNames = [];
    }
    const all = [...new Set([...upNames, ...lowNames])].sort();
    for (const name of all) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const u = upNames.has(name) ? lstatB(join(upper, rel)) : null;
      const l = lstatB(join(lower, rel));
      if (!u) {
        if (l) out.push({ header: { name: relDir ? `${relDir}/${WH_PREFIX}${name}` : `${WH_PREFIX}${name}`, type: 'file', mode: 0o600, size: 0, mtime: 0 } });
        continue;
      }
      if (!l || kindOf(l) !== kindOf(u)) {
        // new (or a different kind of file): all of it
        for await (const item of walkTreeOne(ctx, join(upper, rel), rel, u)) out.push(item);
        continue;
      }
      if (u.isDirectory()) {
        const inner = await changes(rel);
        if (inner.length || !sameFile(u, l)) {
          const item = await entryFor(ctx, join(upper, rel), rel, u);
          if (item) out.push(item);
          out.push(...inner);
        }
        continue;
      }
      let same = sameFile(u, l);
      if (same && u.isSymbolicLink()) same = readlinkSync(join(upper, rel)) === readlinkSync(join(lower, rel));
      if (!same) {
        const item = await entryFor(ctx, join(upper, rel), rel, u);
        if (item) out.push(item);
      }
    }
    return out;
  }
  yield* await changes('');
}

async function* walkTreeOne(ctx: WalkContext, abs: string, rel: string, st: TreeStat): AsyncGenerator<TarWriteItem> {
  const item = await entryFor(ctx, abs, rel, st);
  if (!item) return;
  yield item;
  if (!st.isDirectory()) return;
  yield* walkTree(ctx, abs, { prefix: rel });
}
