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
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
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
 * A mount of a stopped container (a bind or volume whose directory we must use in place of the
 * empty mount point in the root file system).
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

  close(): void {
    closeSync(this.rootFd);
  }

  /** Opens the directory `name` in dirFd without following a symlink; applies mount redirects. */
  openDir(dirFd: number, name: string, pathInRoot: string): number {
    const m = this.mounts.find((x) => x.target === pathInRoot);
    if (m) return openSync(m.source, C.O_RDONLY | C.O_DIRECTORY);
    return openSync(at(dirFd, name), DIR_FLAGS);
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
        const st = lstatSync(at(top, c), { throwIfNoEntry: false });
        const last = queue.length === 0;
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
        const childPath = (names.length ? here() + '/' : '/') + c;
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
