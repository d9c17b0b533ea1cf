// `cp` between a container and the host (both ways, running or stopped, or as a tar stream),
// with docker's path rules: "dir" copies the directory, "dir/." its contents; a file over a
// file replaces it, into a directory lands inside it; a missing destination takes the source's
// content under its own name. The container's side goes through SafeRoot (saferoot.ts): its
// paths resolve inside its root, and nothing is ever written outside of it.
import { closeSync, constants as C, readSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { resolve as resolveHostPath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { readTar, type TarEntryType, type TarItem } from '../storage/tar/reader.js';
import { writeTar, type TarWriteItem } from '../storage/tar/writer.js';
import type { Engine } from './engine.js';
import { EngineError, conflict, invalid, notFound } from './errors.js';
import { ANN_SNAPSHOT } from './images.js';
import { at, ResolveError, SafeRoot, type MountRedirect, type Resolved } from './saferoot.js';
import type { ContainerRecord } from './types.js';

export interface CopyOptions {
  /** -a: keep the uid/gid of the source in the container (default: the container's root owns what is copied in). */
  archive?: boolean;
  /** -L: follow a symlink named as the source. */
  followLink?: boolean;
}

/** The container's file system as seen by cp: its live root when running, its root file system (and mounts) when not. */
async function containerRoot(engine: Engine, rec: ContainerRecord): Promise<SafeRoot> {
  if ((rec.state === 'running' || rec.state === 'paused') && rec.pid > 0) {
    try {
      return SafeRoot.open(`/proc/${rec.pid}/root`);
    } catch {
      /* exited meanwhile: use the root file system */
    }
  }
  if (rec.spec.annotations?.[ANN_SNAPSHOT]) await engine.images.snapshotter.mountContainer(rec.id);
  const mounts: MountRedirect[] = [];
  const vols = new Map(engine.store.containerVolumes(rec.id).map((v) => [v.destination, v.volume]));
  for (const m of rec.hostConfig.Mounts) {
    const target = m.Target.replace(/\/+$/, '') || '/';
    if (m.Type === 'bind') mounts.push({ target, source: m.Source });
    else if (m.Type === 'volume') mounts.push({ target, source: engine.paths.volumeData(vols.get(m.Target) ?? m.Source) });
  }
  return SafeRoot.open(rec.rootfs, mounts);
}

// ---------------------------------------------------------------- archive (read side)

const typeOf = (st: Stats): TarEntryType | undefined =>
  st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : undefined;

function header(name: string, st: Stats, type: TarEntryType, linkname = '') {
  return {
    name, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtime: st.mtimeMs / 1000, linkname,
    devmajor: type === 'char' || type === 'block' ? Math.floor(st.rdev / 256) & 0xfff : 0, devminor: type === 'char' || type === 'block' ? st.rdev & 0xff : 0,
  };
}

/** A file's bytes by synchronous reads (no thread-pool round trip per chunk); closes fd. */
async function* readAll(fd: number): AsyncGenerator<Buffer> {
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Tar items for what r names: `top` is its name in the archive ('.' for a directory's contents). */
async function* archiveItems(root: SafeRoot, r: Resolved, top: string): AsyncGenerator<TarWriteItem> {
  async function* entry(dirFd: number, name: string, st: Stats, inArchive: string, pathInRoot: string): AsyncGenerator<TarWriteItem> {
    const type = typeOf(st);
    if (!type) return;
    if (type === 'file') {
      const fd = openSync(at(dirFd, name), C.O_RDONLY | C.O_NOFOLLOW);
      const fst = fstatSync(fd);
      yield { header: header(inArchive, fst, 'file'), body: readAll(fd) };
      return;
    }
    if (type === 'symlink') {
      yield { header: header(inArchive, st, 'symlink', readlinkSync(at(dirFd, name))) };
      return;
    }
    if (type !== 'dir') {
      yield { header: header(inArchive, st, type) };
      return;
    }
    const fd = name ? root.openDir(dirFd, name, pathInRoot) : openSync(at(dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY);
    try {
      const dst = fstatSync(fd);
      if (inArchive !== '.') yield { header: header(`${inArchive}/`, dst, 'dir') };
      for (const child of readdirSync(`/proc/self/fd/${fd}`).sort()) {
        const cst = lstatSync(at(fd, child), { throwIfNoEntry: false });
        if (!cst) continue;
        yield* entry(fd, child, cst, inArchive === '.' ? child : `${inArchive}/${child}`, `${pathInRoot === '/' ? '' : pathInRoot}/${child}`);
      }
    } finally {
      closeSync(fd);
    }
  }
  yield* entry(r.dirFd, r.name, r.stat!, top, r.path);
}

/** Archive items as the tar reader would return them. */
async function* direct(items: AsyncIterable<TarWriteItem>): AsyncGenerator<TarItem> {
  const none = (async function* () {})();
  for await (const { header: h, body } of items) {
    yield {
      header: { ...h, uid: h.uid ?? 0, gid: h.gid ?? 0, size: h.size ?? 0, mtime: h.mtime ?? 0, linkname: h.linkname ?? '', devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0, xattrs: h.xattrs ?? new Map() },
      body: body === undefined ? none : (body as AsyncIterable<Buffer>),
    };
  }
}

// ---------------------------------------------------------------- extract (write side)

interface ExtractOptions {
  /** Rename the archive's first path component (docker's rebase: "src" lands as "dest"). */
  rename?: [string, string];
  /** Owner of everything extracted (null: as in the archive). */
  owner: { uid: number; gid: number } | null;
  /** Set ownership at all (false on the host: files belong to the caller, like docker's client). */
  chown: boolean;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** Extracts tar items under the directory destFd; never follows a symlink, never leaves destFd. */
async function extract(destFd: number, items: AsyncIterable<TarItem>, o: ExtractOptions): Promise<void> {
  for await (const { header: h, body } of items) {
    let parts = h.name.split('/').filter((c) => c && c !== '.');
    if (parts.some((c) => c === '..')) throw invalid(`archive entry ${JSON.stringify(h.name)}: ".." is not allowed in a path`);
    if (o.rename && parts[0] === o.rename[0]) parts = [o.rename[1], ...parts.slice(1)];
    else if (o.rename && o.rename[0] === '.') parts = [o.rename[1], ...parts];
    if (!parts.length) {
      for await (const _ of body) { /* the destination itself */ }
      continue;
    }
    const opened: number[] = [];
    try {
      let dir = destFd;
      for (const c of parts.slice(0, -1)) {
        let st = lstatSync(at(dir, c), { throwIfNoEntry: false });
        if (!st) {
          mkdirSync(at(dir, c), 0o755);
          st = lstatSync(at(dir, c));
        }
        if (!st.isDirectory()) throw invalid(`cannot extract ${JSON.stringify(h.name)}: ${c} is not a directory (symbolic links are not followed)`);
        dir = openSync(at(dir, c), DIR_FLAGS);
        opened.push(dir);
      }
      await extractOne(dir, parts[parts.length - 1]!, h, body, destFd, o);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }
}

async function extractOne(dir: number, name: string, h: TarItem['header'], body: AsyncIterable<Buffer>, destFd: number, o: ExtractOptions): Promise<void> {
  const p = at(dir, name);
  const cur = lstatSync(p, { throwIfNoEntry: false });
  const uid = o.owner ? o.owner.uid : h.uid;
  const gid = o.owner ? o.owner.gid : h.gid;
  const mtime = h.mtime || Date.now() / 1000;
  if (h.type === 'dir') {
    if (cur && !cur.isDirectory()) unlinkSync(p);
    if (!cur || !cur.isDirectory()) mkdirSync(p, 0o700);
    const fd = openSync(p, DIR_FLAGS);
    try {
      fchmodSync(fd, h.mode & 0o7777);
      if (o.chown) fchownSync(fd, uid, gid);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    for await (const _ of body) { /* none */ }
    return;
  }
  if (cur?.isDirectory()) throw conflict(`cannot overwrite directory ${JSON.stringify(h.name)} with non-directory`);
  if (cur) unlinkSync(p);
  if (h.type === 'file') {
    const fd = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      }
      fchmodSync(fd, h.mode & 0o7777);
      if (o.chown) fchownSync(fd, uid, gid);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    return;
  }
  for await (const _ of body) { /* no data */ }
  if (h.type === 'symlink') {
    symlinkSync(h.linkname, p);
    if (o.chown) lchownSync(p, uid, gid);
    lutimesSync(p, mtime, mtime);
  } else if (h.type === 'link') {
    // a hard link to an entry extracted before, found inside the destination without following symlinks
    const parts = h.linkname.split('/').filter((c) => c && c !== '.');
    if (!parts.length || parts.some((c) => c === '..')) throw invalid(`archive entry ${JSON.stringify(h.name)}: bad link target ${JSON.stringify(h.linkname)}`);
    let d = destFd;
    const opened: number[] = [];
    try {
      for (const c of parts.slice(0, -1)) {
        d = openSync(at(d, c), DIR_FLAGS);
        opened.push(d);
      }
      linkSync(at(d, parts[parts.length - 1]!), p);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }
  // devices and fifos: not created (Node has no mknod; docker cp of them is rare)
}

// ---------------------------------------------------------------- docker's rules

const endsWithDot = (p: string) => p === '.' || p.endsWith('/.');
const assertsDir = (p: string) => p.endsWith('/') || endsWithDot(p);

interface Side {
  root: SafeRoot;
  path: string;
  /** Error for a missing source ("Could not find the file ... in container ..."). */
  missing: (p: string) => EngineError;
}

function resolveSource(s: Side, followLink: boolean): { r: Resolved; top: string } {
  let r: Resolved;
  try {
    r = s.root.resolve(s.path, followLink || assertsDir(s.path));
  } catch (e) {
    if (e instanceof ResolveError && e.code === 'ENOENT') throw s.missing(s.path);
    throw e;
  }
  if (!r.stat) {
    r.close();
    throw s.missing(s.path);
  }
  if (assertsDir(s.path) && !r.stat.isDirectory()) {
    r.close();
    throw invalid(`${s.path}: not a directory`);
  }
  const contents = endsWithDot(s.path) || !r.name;
  return { r, top: contents ? '.' : r.name };
}

/** Copies between two roots with docker's rules. */
async function copyBetween(src: Side, dst: Side, o: CopyOptions, owner: ExtractOptions['owner'], chown: boolean): Promise<void> {
  const { r, top } = resolveSource(src, !!o.followLink);
  try {
    const srcIsDir = r.stat!.isDirectory();
    const d = dst.root.resolve(dst.path, true);
    try {
      let destFd: number;
      let rename: [string, string] | undefined;
      if (d.stat?.isDirectory()) {
        destFd = dst.root.openResolvedDir(d);
      } else if (d.stat) {
        if (srcIsDir) throw invalid(`cannot copy a directory to a file: ${dst.path} exists and is not a directory`);
        destFd = openSync(at(d.dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY);
        rename = [top, d.name];
      } else {
        if (assertsDir(dst.path) && !srcIsDir) throw notFound(`${dst.path}: no such directory`);
        destFd = openSync(at(d.dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY);
        rename = [top, d.name];
      }
      try {
        // root to root: the archive's items go straight to the extractor (no tar bytes between)
        await extract(destFd, direct(archiveItems(src.root, r, top)), { ...(rename ? { rename } : {}), owner, chown });
      } finally {
        closeSync(destFd);
      }
    } finally {
      d.close();
    }
  } finally {
    r.close();
  }
}

/** A host path (relative to the working directory), keeping docker's trailing "/" and "/.". */
function hostSide(path: string): Side {
  const suffix = endsWithDot(path) ? '/.' : path.endsWith('/') ? '/' : '';
  return { root: SafeRoot.open('/'), path: resolveHostPath(path) + suffix, missing: (p) => notFound(`lstat ${resolveHostPath(p)}: no such file or directory`) };
}

function checkPath(p: string, what: string): void {
  if (!p) throw invalid(`${what}: an empty path (use / for the root)`);
  if (p.includes('\0')) throw invalid(`${what}: a path cannot contain NUL bytes`);
}

async function withContainer<T>(engine: Engine, ref: string, fn: (rec: ContainerRecord, side: (p: string) => Side) => Promise<T>): Promise<T> {
  const rec = engine.get(ref);
  const root = await containerRoot(engine, rec);
  try {
    return await fn(rec, (p) => ({ root, path: p.startsWith('/') ? p : `/${p}`, missing: (x) => notFound(`Could not find the file ${x} in container ${rec.name}`) }));
  } finally {
    root.close();
  }
}

/** `cp CONTAINER:SRC DEST` (a host path). */
export async function copyFromContainer(engine: Engine, ref: string, srcPath: string, destPath: string, o: CopyOptions = {}): Promise<void> {
  checkPath(srcPath, 'source');
  checkPath(destPath, 'destination');
  await withContainer(engine, ref, async (rec, side) => {
    const host = hostSide(destPath);
    try {
      await copyBetween(side(srcPath), host, o, null, false);
    } finally {
      host.root.close();
    }
    engine.store.addEvent('container', 'archive-path', rec.id, { image: rec.image, name: rec.name, path: srcPath });
  });
}

/** `cp SRC CONTAINER:DEST` (SRC a host path). */
export async function copyToContainer(engine: Engine, ref: string, srcPath: string, destPath: string, o: CopyOptions = {}): Promise<void> {
  checkPath(srcPath, 'source');
  checkPath(destPath, 'destination');
  await withContainer(engine, ref, async (rec, side) => {
    if (rec.hostConfig.ReadonlyRootfs) throw conflict('container rootfs is marked read-only');
    const host = hostSide(srcPath);
    try {
      await copyBetween(host, side(destPath), o, o.archive ? null : { uid: 0, gid: 0 }, true);
    } finally {
      host.root.close();
    }
    engine.store.addEvent('container', 'extract-to-dir', rec.id, { image: rec.image, name: rec.name, path: destPath });
  });
}

/** `cp CONTAINER:SRC -`: a tar stream of SRC (named by its base name, as docker's). */
export async function archiveFromContainer(engine: Engine, ref: string, srcPath: string, out: Writable, o: CopyOptions = {}): Promise<void> {
  checkPath(srcPath, 'source');
  await withContainer(engine, ref, async (rec, side) => {
    const { r, top } = resolveSource(side(srcPath), !!o.followLink);
    try {
      for await (const chunk of writeTar(archiveItems(side('/').root, r, top))) {
        if (!out.write(chunk)) await new Promise((res) => out.once('drain', res));
      }
    } finally {
      r.close();
    }
    engine.store.addEvent('container', 'archive-path', rec.id, { image: rec.image, name: rec.name, path: srcPath });
  });
}

/** `cp - CONTAINER:DEST`: extracts a tar stream into the directory DEST. */
export async function extractToContainer(engine: Engine, ref: string, tar: Readable | AsyncIterable<Buffer>, destPath: string, o: CopyOptions = {}): Promise<void> {
  checkPath(destPath, 'destination');
  await withContainer(engine, ref, async (rec, side) => {
    if (rec.hostConfig.ReadonlyRootfs) throw conflict('container rootfs is marked read-only');
    const s = side(destPath);
    const d = s.root.resolve(s.path, true);
    try {
      if (!d.stat) throw notFound(`Could not find the file ${destPath} in container ${rec.name}`);
      if (!d.stat.isDirectory()) throw invalid(`extraction point is not a directory: ${destPath}`);
      const fd = s.root.openResolvedDir(d);
      try {
        await extract(fd, readTar(tar as AsyncIterable<Buffer>), { owner: o.archive ? null : { uid: 0, gid: 0 }, chown: true });
      } finally {
        closeSync(fd);
      }
    } finally {
      d.close();
    }
    engine.store.addEvent('container', 'extract-to-dir', rec.id, { image: rec.image, name: rec.name, path: destPath });
  });
}
