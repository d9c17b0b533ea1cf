// `cp` between a container and the host (both ways, running or stopped, or as a tar stream),
// with docker's path rules: "dir" copies the directory, "dir/." its contents; a file over a
// file replaces it, into a directory lands inside it; a missing destination takes the source's
// content under its own name. The container's side goes through SafeRoot (saferoot.ts): its
// paths resolve inside its root, and nothing is ever written outside of it. A stopped
// container's volumes and bind mounts are read and written in place of their (empty) mount
// points, as docker does by mounting them for the copy. Device nodes and fifos are copied,
// sockets skipped, hard links kept as links within one copy (copy-nodes.ts), extended attributes
// kept (copy-xattrs.ts).
import { closeSync, constants as C, readSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { resolve as resolveHostPath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { readTar, type TarEntryType, type TarItem } from '../storage/tar/reader.js';
import { writeTar, type TarWriteItem } from '../storage/tar/writer.js';
import type { Engine } from './engine.js';
import { EngineError, conflict, invalid, notFound } from './errors.js';
import { copyBytes, devParts, LinkTracker, makeNode } from './copy-nodes.js';
import { readXattrs, writeXattrs } from './copy-xattrs.js';
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
  return SafeRoot.withMounts(rec.rootfs, mounts);
}

// ---------------------------------------------------------------- archive (read side)

const typeOf = (st: Stats): TarEntryType | undefined =>
  st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : undefined;

function header(name: string, st: Stats, type: TarEntryType, linkname = '') {
  const dev = type === 'char' || type === 'block' ? devParts(st.rdev) : { major: 0, minor: 0 };
  return {
    name, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtime: st.mtimeMs / 1000, linkname,
    devmajor: dev.major, devminor: dev.minor,
  };
}

const withXattrs = <H extends object>(h: H, xattrs: Map<string, Buffer> | undefined): H & { xattrs?: Map<string, Buffer> } => (xattrs ? { ...h, xattrs } : h);

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

/**
 * Tar items for what r names: `top` is its name in the archive ('.' for a directory's contents).
 * Sockets are skipped (docker's archive skips them); a second name of an inode is a hard link.
 */
async function* archiveItems(root: SafeRoot, r: Resolved, top: string): AsyncGenerator<TarWriteItem> {
  const links = new LinkTracker();
  async function* entry(dirFd: number, name: string, st: Stats, inArchive: string, pathInRoot: string): AsyncGenerator<TarWriteItem> {
    const type = typeOf(st);
    if (!type) return;
    const first = type === 'dir' ? undefined : links.linkTo(st, inArchive);
    if (first !== undefined) {
      yield { header: { ...header(inArchive, st, 'link', first), size: 0 } };
      return;
    }
    if (type === 'file') {
      const fd = root.openFile(dirFd, name, pathInRoot);
      const fst = fstatSync(fd);
      if (!fst.isFile()) {
        closeSync(fd);
        return; // replaced meanwhile (a running container): not what was listed
      }
      yield { header: withXattrs(header(inArchive, fst, 'file'), await readXattrs(dirFd, name)), body: readAll(fd) };
      return;
    }
    if (type === 'symlink') {
      yield { header: withXattrs(header(inArchive, st, 'symlink', readlinkSync(at(dirFd, name))), await readXattrs(dirFd, name)) };
      return;
    }
    if (type !== 'dir') {
      yield { header: withXattrs(header(inArchive, st, type), await readXattrs(dirFd, name)) };
      return;
    }
    const fd = name ? root.openDir(dirFd, name, pathInRoot) : openSync(at(dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY);
    try {
      const dst = fstatSync(fd);
      if (inArchive !== '.') yield { header: withXattrs(header(`${inArchive}/`, dst, 'dir'), await readXattrs(fd, '')) };
      for (const child of readdirSync(`/proc/self/fd/${fd}`).sort()) {
        const childPath = `${pathInRoot === '/' ? '' : pathInRoot}/${child}`;
        const cst = root.statAt(fd, child, childPath);
        if (!cst) continue;
        yield* entry(fd, child, cst, inArchive === '.' ? child : `${inArchive}/${child}`, childPath);
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
  /** The destination's root (mount redirects of a stopped container) and destFd's path in it. */
  root: SafeRoot;
  base: string;
  /** Rename the archive's first path component (docker's rebase: "src" lands as "dest"). */
  rename?: [string, string];
  /** Owner of everything extracted (null: as in the archive). */
  owner: { uid: number; gid: number } | null;
  /** Set ownership at all (false on the host: files belong to the caller, like docker's client). */
  chown: boolean;
  /**
   * Set when extracting onto the host: char/block device nodes are not created but reported here
   * (a hostile container could plant a 0666 node of the host's disk; stricter than docker).
   */
  skipDevice?: (path: string) => void;
}

/** An archive name as path components below the destination, after docker's rebase. */
function entryParts(name: string, o: ExtractOptions, what: string): string[] {
  let parts = name.split('/').filter((c) => c && c !== '.');
  if (parts.some((c) => c === '..')) throw invalid(`archive entry ${JSON.stringify(what)}: ".." is not allowed in a path`);
  if (o.rename && parts[0] === o.rename[0]) parts = [o.rename[1], ...parts.slice(1)];
  else if (o.rename && o.rename[0] === '.') parts = [o.rename[1], ...parts];
  return parts;
}

const join = (base: string, c: string) => (base === '/' ? '' : base) + '/' + c;

/**
 * Opens the directory below destFd that `parts` name (mount redirects applied, never a
 * symlink), creating missing ones when `create`; returns its fd and path (the caller closes
 * every fd in `opened`).
 */
function walkDirs(destFd: number, parts: string[], o: ExtractOptions, opened: number[], create: boolean, what: string): { dir: number; path: string } {
  let dir = destFd;
  let path = o.base;
  for (const c of parts) {
    const next = join(path, c);
    let st = o.root.statAt(dir, c, next);
    if (!st && create) {
      mkdirSync(at(dir, c), 0o755);
      st = o.root.statAt(dir, c, next);
    }
    if (!st) throw notFound(`cannot extract ${JSON.stringify(what)}: ${next} does not exist`);
    if (!st.isDirectory()) throw invalid(`cannot extract ${JSON.stringify(what)}: ${c} is not a directory (symbolic links are not followed)`);
    dir = o.root.openDir(dir, c, next);
    opened.push(dir);
    path = next;
  }
  return { dir, path };
}

/** Extracts tar items under the directory destFd; never follows a symlink, never leaves destFd. */
async function extract(destFd: number, items: AsyncIterable<TarItem>, o: ExtractOptions): Promise<void> {
  for await (const { header: h, body } of items) {
    const parts = entryParts(h.name, o, h.name);
    if (!parts.length) {
      for await (const _ of body) { /* the destination itself */ }
      continue;
    }
    const opened: number[] = [];
    try {
      const { dir, path } = walkDirs(destFd, parts.slice(0, -1), o, opened, true, h.name);
      await extractOne(dir, parts[parts.length - 1]!, join(path, parts[parts.length - 1]!), h, body, destFd, o);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }
}

async function extractOne(dir: number, name: string, path: string, h: TarItem['header'], body: AsyncIterable<Buffer>, destFd: number, o: ExtractOptions): Promise<void> {
  const p = at(dir, name);
  const mounted = o.root.mountAt(path) !== undefined;
  const cur = o.root.statAt(dir, name, path);
  const uid = o.owner ? o.owner.uid : h.uid;
  const gid = o.owner ? o.owner.gid : h.gid;
  const mtime = h.mtime || Date.now() / 1000;
  if (h.type === 'dir') {
    if (cur && !cur.isDirectory()) {
      if (mounted) throw conflict(`cannot replace ${path}: a file is mounted there`);
      unlinkSync(p);
    }
    if (!cur || !cur.isDirectory()) mkdirSync(p, 0o700);
    const fd = o.root.openDir(dir, name, path);
    try {
      fchmodSync(fd, h.mode & 0o7777);
      if (o.chown) fchownSync(fd, uid, gid);
      await writeXattrs(fd, '', h.xattrs);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    for await (const _ of body) { /* none */ }
    return;
  }
  if (cur?.isDirectory()) throw conflict(`cannot overwrite directory ${JSON.stringify(h.name)} with non-directory`);
  // docker cannot replace a bind-mounted file either (its mount point cannot be removed)
  if (mounted) throw conflict(`cannot replace ${path}: a file is mounted there`);
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
    await writeXattrs(dir, name, h.xattrs); // after chown, which clears security.capability
    return;
  }
  for await (const _ of body) { /* no data */ }
  if (h.type === 'symlink') {
    symlinkSync(h.linkname, p);
    if (o.chown) lchownSync(p, uid, gid);
    await writeXattrs(dir, name, h.xattrs);
    lutimesSync(p, mtime, mtime);
  } else if (h.type === 'link') {
    // a hard link to an entry extracted before (renamed like the entries), found inside the
    // destination without following symlinks
    const parts = entryParts(h.linkname, o, h.name);
    if (!parts.length) throw invalid(`archive entry ${JSON.stringify(h.name)}: bad link target ${JSON.stringify(h.linkname)}`);
    const opened: number[] = [];
    try {
      const { dir: d } = walkDirs(destFd, parts.slice(0, -1), o, opened, false, h.name);
      const target = at(d, parts[parts.length - 1]!);
      try {
        linkSync(target, p); // link(2) does not follow a symlink
      } catch (e) {
        // the two names are on different mounts (a volume and the root file system): a copy
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        const from = openSync(target, C.O_RDONLY | C.O_NOFOLLOW);
        try {
          const fst = fstatSync(from);
          if (!fst.isFile()) throw invalid(`archive entry ${JSON.stringify(h.name)}: cannot copy the link target ${JSON.stringify(h.linkname)} across mounts (not a regular file)`);
          const to = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
          try {
            copyBytes(from, to);
            fchmodSync(to, fst.mode & 0o7777);
            if (o.chown) fchownSync(to, fst.uid, fst.gid);
            futimesSync(to, fst.atimeMs / 1000, fst.mtimeMs / 1000);
          } finally {
            closeSync(to);
          }
        } finally {
          closeSync(from);
        }
      }
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  } else if ((h.type === 'char' || h.type === 'block') && o.skipDevice) {
    o.skipDevice(path);
  } else if (h.type === 'char' || h.type === 'block' || h.type === 'fifo') {
    // docker's archive copies device nodes and fifos (and skips devices where it may not make them)
    await makeNode(dir, name, h, o.chown ? { uid, gid } : null, mtime);
    await writeXattrs(dir, name, h.xattrs);
  }
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
async function copyBetween(src: Side, dst: Side, o: CopyOptions, owner: ExtractOptions['owner'], chown: boolean, skipDevice?: (path: string) => void): Promise<void> {
  const { r, top } = resolveSource(src, !!o.followLink);
  try {
    const srcIsDir = r.stat!.isDirectory();
    const d = dst.root.resolve(dst.path, true);
    try {
      let destFd: number;
      let rename: [string, string] | undefined;
      const parent = d.name ? d.path.slice(0, d.path.lastIndexOf('/')) || '/' : d.path;
      let base = parent;
      if (d.stat?.isDirectory()) {
        destFd = dst.root.openResolvedDir(d);
        base = d.path;
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
        await extract(destFd, direct(archiveItems(src.root, r, top)), { root: dst.root, base, ...(rename ? { rename } : {}), owner, chown, ...(skipDevice ? { skipDevice } : {}) });
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
      // onto the host: no device nodes from the container (see ExtractOptions.skipDevice)
      const warn = engine.opts.warn ?? ((m: string) => process.stderr.write(`WARNING: ${m}\n`));
      await copyBetween(side(srcPath), host, o, null, false, (p) => warn(`cp: skipped device node ${p}: berth does not create device nodes from a container on the host`));
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
        await extract(fd, readTar(tar as AsyncIterable<Buffer>), { root: s.root, base: d.path, owner: o.archive ? null : { uid: 0, gid: 0 }, chown: true });
      } finally {
        closeSync(fd);
      }
    } finally {
      d.close();
    }
    engine.store.addEvent('container', 'extract-to-dir', rec.id, { image: rec.image, name: rec.name, path: destPath });
  });
}
