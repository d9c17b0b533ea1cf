// OCI mount options -> mount(2) flags, propagation, mount_setattr attributes and fs data.
// Option names follow runc's table; anything unknown is passed to the filesystem as data.
import { MOUNT_ATTR, MS } from './plan.js';

export interface ParsedMountOptions {
  flags: number;
  /** Flags to apply in a second, MS_REMOUNT|MS_BIND step (bind mounts ignore them at first). */
  bindRemountFlags: number;
  propagation: number;
  attrSet: number;
  attrClr: number;
  data: string[];
  bind: boolean;
  recursiveBind: boolean;
  idmap: boolean;
  recursiveIdmap: boolean;
}

const SET: Record<string, number> = {
  bind: MS.BIND, dirsync: MS.DIRSYNC, lazytime: MS.LAZYTIME, mand: MS.MANDLOCK, noatime: MS.NOATIME,
  nodev: MS.NODEV, nodiratime: MS.NODIRATIME, noexec: MS.NOEXEC, nosuid: MS.NOSUID, nosymfollow: MS.NOSYMFOLLOW,
  rbind: MS.BIND | MS.REC, relatime: MS.RELATIME, remount: MS.REMOUNT, ro: MS.RDONLY, silent: MS.SILENT,
  strictatime: MS.STRICTATIME, sync: MS.SYNCHRONOUS,
};
const CLEAR: Record<string, number> = {
  async: MS.SYNCHRONOUS, atime: MS.NOATIME, defaults: 0, dev: MS.NODEV, diratime: MS.NODIRATIME, exec: MS.NOEXEC,
  loud: MS.SILENT, nolazytime: MS.LAZYTIME, nomand: MS.MANDLOCK, norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME, rw: MS.RDONLY, suid: MS.NOSUID, symfollow: MS.NOSYMFOLLOW,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};
// Recursive attributes (mount_setattr with AT_RECURSIVE): [set, clear].
const RECURSIVE: Record<string, [number, number]> = {
  rro: [MOUNT_ATTR.RDONLY, 0], rrw: [0, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0], rsuid: [0, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0], rdev: [0, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0], rexec: [0, MOUNT_ATTR.NOEXEC],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0], rdiratime: [0, MOUNT_ATTR.NODIRATIME],
  rrelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME], rnorelatime: [0, 0],
  rnoatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR._ATIME], ratime: [0, MOUNT_ATTR.NOATIME],
  rstrictatime: [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR._ATIME], rnostrictatime: [0, MOUNT_ATTR.STRICTATIME],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0], rsymfollow: [0, MOUNT_ATTR.NOSYMFOLLOW],
};
/** Flags a bind mount only honours through a later remount. */
const BIND_REMOUNTABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME |
  MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

/** Options recognised by name (the rest go to the filesystem as data). */
export const KNOWN_MOUNT_OPTIONS = [
  ...Object.keys(SET), ...Object.keys(CLEAR), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE),
  'idmap', 'ridmap', 'tmpcopyup',
].sort();

export function parseMountOptions(options: readonly string[] | undefined, type: string | undefined): ParsedMountOptions {
  const r: ParsedMountOptions = {
    flags: 0, bindRemountFlags: 0, propagation: 0, attrSet: 0, attrClr: 0, data: [],
    bind: type === 'bind', recursiveBind: false, idmap: false, recursiveIdmap: false,
  };
  for (const o of options ?? []) {
    const set = SET[o];
    if (set !== undefined) {
      r.flags |= set;
      continue;
    }
    const clr = CLEAR[o];
    if (clr !== undefined) {
      r.flags &= ~clr;
      continue;
    }
    const prop = PROPAGATION[o];
    if (prop !== undefined) {
      r.propagation |= prop;
      continue;
    }
    const rec = RECURSIVE[o];
    if (rec !== undefined) {
      r.attrSet |= rec[0];
      r.attrClr |= rec[1];
      continue;
    }
    if (o === 'idmap' || o === 'ridmap') {
      r.idmap = true;
      r.recursiveIdmap = o === 'ridmap';
      continue;
    }
    if (o === 'tmpcopyup') continue; // runc extension for tmpfs; not supported, harmless to ignore
    r.data.push(o);
  }
  if (r.flags & MS.BIND) {
    r.bind = true;
    r.recursiveBind = (r.flags & MS.REC) !== 0;
  } else if (r.bind) {
    r.flags |= MS.BIND;
  }
  if (r.bind) {
    r.bindRemountFlags = r.flags & BIND_REMOUNTABLE;
    r.flags &= MS.BIND | MS.REC;
  }
  return r;
}
