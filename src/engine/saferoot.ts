// Paths inside a container's file system, resolved as if the container's root were "/"
// (openat2's RESOLVE_IN_ROOT, done in TypeScript): the container's files are hostile, so a
// symlink (absolute or full of "..") can never lead out of the root, and a directory swapped
// for a symlink while we walk cannot redirect us either.
//
// How, without openat(2) in Node: every step holds an fd of the directory reached so far and
// looks up exactly one name in it through "/proc/self/fd/<fd>/<name>": the kernel jumps to the
// directory of the fd and resolves a single component, and O_NOFOLLOW refuses a symlink there.
// Symlinks are read (readlink) and expanded by us against our own stack of directory fds, so
// ".." never climbs above the root and absolute targets restart at the root.
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { EngineError } from './errors.js';

const MAX_SYMLINKS = 40;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

export const at = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;

export class ResolveError extends EngineError {
  constructor(readonly code: 'ENOENT' | 'ENOTDIR' | 'ELOOP', message: string) {
    super(code === 'ENOENT' ? 'notfound' : 'invalid', message);
  }
}

/** Where a path ended: the directory holding the last name (open), the name, what is there. */
export interface Resolved {
  /** The directory fd (owned by the Resolved: close() releases it). */
  dirFd: number;
  /** The last component ('' when the path is the root itself: then dirFd is the root). */
  name: string;
  /** lstat of the entry (undefined when it does not exist). */
  stat: Stats | undefined;
  /** The path inside the root, symlinks expanded ("/a/b"). */
  path: string;
  close(): void;
}

/**
 * A mount of a stopped container (a bind or volume whose directory -- or file -- we must use in
 * place of the empty mount point in the root file system). The source is trusted (a host path
 * the engine chose or the user named); what is inside it is not, and is walked like the root.
 */
export interface MountRedirect {
  target: string;
  source: string;
}

const split = (p: string) => p.split('/').filter((c) => c && c !== '.');

export class SafeRoot {
  constructor(readonly rootFd: number, private readonly mounts: MountRedirect[] = []) {}

  /** Opens a root directory (trusted: a host path, or /proc/<pid>/root). */
  static open(dir: string, mounts: MountRedirect[] = []): SafeRoot {
    return new SafeRoot(openSync(dir, C.O_RDONLY | C.O_DIRECTORY), mounts);
  }

  /**
   * Opens a stopped container's root file system with its mounts. Each target is resolved in the
   * root as the runtime resolves mount destinations (symlinks inside the root, mounts made
   * before it included: shallow targets first), so "/data" mounted where "/data" is a symlink
   * to "/srv/data" redirects "/srv/data".
   */
  static withMounts(dir: string, mounts: MountRedirect[]): SafeRoot {
    const root = SafeRoot.open(dir);
    const depth = (t: string) => split(t).length;
    for (const m of [...mounts].sort((a, b) => depth(a.target) - depth(b.target))) {
      let target = '/' + split(m.target).join('/');
      try {
        const r = root.resolve(target, true);
        target = r.path;
        r.close();
      } catch {
        /* a missing parent: the runtime would create it, under this very name */
      }
      root.mounts.push({ target, source: m.source });
    }
    return root;
  }

  close(): void {
    closeSync(this.rootFd);
  }

  /** The host source of a mount at exactly this path in the root (stopped containers only). */
  mountAt(pathInRoot: string): string | undefined {
    for (let i = this.mounts.length - 1; i >= 0; i--) if (this.mounts[i]!.target === pathInRoot) return this.mounts[i]!.source;
    return undefined;
  }

  /** lstat of `name` in dirFd, or of the mount's source when a mount covers it. */
  statAt(dirFd: number, name: string, pathInRoot: string): Stats | undefined {
    const m = this.mountAt(pathInRoot);
    if (m) return statSync(m, { throwIfNoEntry: false });
    return lstatSync(at(dirFd, name), { throwIfNoEntry: false });
  }

  /** Opens the directory `name` in dirFd without following a symlink; applies mount redirects. */
  openDir(dirFd: number, name: string, pathInRoot: string): number {
    const m = this.mountAt(pathInRoot);
    if (m) return openSync(m, C.O_RDONLY | C.O_DIRECTORY);
    return openSync(at(dirFd, name), DIR_FLAGS);
  }

  /** Opens the file `name` in dirFd for reading without following a symlink; applies mount redirects. */
  openFile(dirFd: number, name: string, pathInRoot: string): number {
    const m = this.mountAt(pathInRoot);
    if (m) return openSync(m, C.O_RDONLY);
    return openSync(at(dirFd, name), C.O_RDONLY | C.O_NOFOLLOW);
  }

  /**
   * Resolves a path in the root. Symlinks in the middle are always followed (inside the root);
   * the last one only with followLast. Nothing needs to exist but the parent directories.
   */
  resolve(path: string, followLast: boolean): Resolved {
    const queue = split(path);
    // the stack of directories walked: fds (index 0 the root, never closed here) and names
    const fds: number[] = [this.rootFd];
    const names: string[] = [];
    let hops = 0;
    const closeAll = () => {
      for (const fd of fds.slice(1)) closeSync(fd);
    };
    const here = () => '/' + names.join('/');
    try {
      while (queue.length) {
        const c = queue.shift()!;
        if (c === '..') {
          if (fds.length > 1) {
            closeSync(fds.pop()!);
            names.pop();
          }
          continue;
        }
        const top = fds[fds.length - 1]!;
        const last = queue.length === 0;
        const childPath = (names.length ? here() + '/' : '/') + c;
        // a mount point's own entry (a symlink even) is hidden by what is mounted there
        const st = this.statAt(top, c, childPath);
        if (st?.isSymbolicLink() && (!last || followLast)) {
          if (++hops > MAX_SYMLINKS) throw new ResolveError('ELOOP', `${path}: too many levels of symbolic links`);
          const target = readlinkSync(at(top, c));
          if (target.startsWith('/')) {
            while (fds.length > 1) closeSync(fds.pop()!);
            names.length = 0;
          }
          queue.unshift(...split(target));
          continue;
        }
        if (last) {
          const dirFd = fds.pop()!;
          closeAll();
          const owned = dirFd === this.rootFd ? openSync(at(dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY) : dirFd;
          return { dirFd: owned, name: c, stat: st, path: childPath, close: () => closeSync(owned) };
        }
        if (!st) throw new ResolveError('ENOENT', `${here() === '/' ? '' : here()}/${c}: no such file or directory`);
        if (!st.isDirectory()) throw new ResolveError('ENOTDIR', `${childPath}: not a directory`);
        fds.push(this.openDir(top, c, childPath));
        names.push(c);
      }
      // the path named a directory reached by the walk (or the root)
      const dirFd = fds.pop()!;
      closeAll();
      const owned = dirFd === this.rootFd ? openSync(at(dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY) : dirFd;
      return { dirFd: owned, name: '', stat: fstatSync(owned), path: here(), close: () => closeSync(owned) };
    } catch (e) {
      closeAll();
      if (!(e instanceof ResolveError) && (e as NodeJS.ErrnoException).code === 'ELOOP') throw new ResolveError('ELOOP', `${path}: a path component was replaced by a symbolic link while it was resolved`);
      throw e;
    }
  }

  /** Opens the directory a Resolved names (itself when name is ''), applying mount redirects. */
  openResolvedDir(r: Resolved): number {
    if (!r.name) return openSync(at(r.dirFd, '.'), C.O_RDONLY | C.O_DIRECTORY);
    return this.openDir(r.dirFd, r.name, r.path);
  }
}
