// The entries of a `cp` archive that are neither files, directories nor symlinks: device nodes
// and fifos (created like docker's archive does: char/block devices and fifos are copied,
// sockets are skipped by the reader), and hard links (kept as links within one copy).
//
// Node has no mknod(2): the storage helper (`berth-shim storage serve`) makes the node. It gets
// the parent directory as /proc/<our pid>/fd/<dirfd>/<name>, so the name is looked up in the very
// directory we hold open (no path walk that a container could redirect), and mknod never
// follows a symlink at the last component. The node's mode, owner and times are then set through
// an O_PATH descriptor opened with O_NOFOLLOW: a node swapped for a symlink by a running
// container is never followed.
import { chmodSync, chownSync, closeSync, constants as C, fstatSync, openSync, readSync, utimesSync, writeSync } from 'node:fs';
import { sharedHelper } from '../storage/helper.js';
import type { TarItem } from '../storage/tar/reader.js';
import { conflict } from './errors.js';
import { at } from './saferoot.js';

/** O_PATH (Linux): an fd that names an inode without opening it (no device open, no fifo wait). */
const O_PATH = 0o10000000;

const FORMAT = { char: C.S_IFCHR, block: C.S_IFBLK, fifo: C.S_IFIFO } as const;

/** Linux dev_t of a device number (glibc's makedev). */
export function devParts(rdev: number): { major: number; minor: number } {
  return { major: ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

/**
 * Creates a device node or fifo `name` in the directory dirFd (nothing may be there). Returns
 * false when the caller may not create device nodes (an unprivileged user, a user namespace):
 * docker skips them then too.
 */
export async function makeNode(dirFd: number, name: string, h: TarItem['header'], owner: { uid: number; gid: number } | null, mtime: number): Promise<boolean> {
  const type = h.type as keyof typeof FORMAT;
  try {
    await sharedHelper().mknod(`/proc/${process.pid}/fd/${dirFd}/${name}`, FORMAT[type] | 0o600, h.devmajor, h.devminor);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPERM' && type !== 'fifo') return false;
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(`cannot create ${JSON.stringify(h.name)}: something appeared there while it was copied`);
    throw e;
  }
  const fd = openSync(at(dirFd, name), O_PATH | C.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if ((st.mode & C.S_IFMT) !== FORMAT[type]) throw conflict(`cannot create ${JSON.stringify(h.name)}: it was replaced while it was copied`);
    const self = `/proc/self/fd/${fd}`;
    if (owner) chownSync(self, owner.uid, owner.gid);
    chmodSync(self, h.mode & 0o7777);
    utimesSync(self, mtime, mtime);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Copies a file's bytes (a hard link that cannot be made across two mounts: EXDEV). */
export function copyBytes(fromFd: number, toFd: number): void {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fromFd, buf, 0, buf.length, null);
    if (n <= 0) return;
    for (let off = 0; off < n; ) off += writeSync(toFd, buf, off, n - off);
  }
}

/** Hard links of one archive: the first name of each inode (dev:ino) seen, for the later ones. */
export class LinkTracker {
  private readonly seen = new Map<string, string>();

  /** The archive name this inode was first written as (then write a link to it), or undefined (and remember it). */
  linkTo(st: { dev: number; ino: number; nlink: number; isDirectory(): boolean }, name: string): string | undefined {
    if (st.isDirectory() || st.nlink < 2) return undefined;
    const key = `${st.dev}:${st.ino}`;
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, name);
    return first;
  }
}
