// The mount option strings of OCI config.json `mounts[].options` that a runtime interprets itself
// (the same set runc knows). Any other option is filesystem data passed to mount(2) as-is, e.g.
// "mode=755" or "size=65536k". The flag values are from include/uapi/linux/mount.h.

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_I_VERSION = 0x800000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

/** An option that sets (clear=false) or clears (clear=true) a mount(2) flag. */
export interface FlagOption {
  readonly clear: boolean;
  readonly flag: number;
}

export const MOUNT_FLAG_OPTIONS: Readonly<Record<string, FlagOption>> = Object.freeze({
  async: { clear: true, flag: MS_SYNCHRONOUS },
  atime: { clear: true, flag: MS_NOATIME },
  bind: { clear: false, flag: MS_BIND },
  defaults: { clear: false, flag: 0 },
  dev: { clear: true, flag: MS_NODEV },
  diratime: { clear: true, flag: MS_NODIRATIME },
  dirsync: { clear: false, flag: MS_DIRSYNC },
  exec: { clear: true, flag: MS_NOEXEC },
  iversion: { clear: false, flag: MS_I_VERSION },
  lazytime: { clear: false, flag: MS_LAZYTIME },
  loud: { clear: true, flag: MS_SILENT },
  mand: { clear: false, flag: MS_MANDLOCK },
  noatime: { clear: false, flag: MS_NOATIME },
  nodev: { clear: false, flag: MS_NODEV },
  nodiratime: { clear: false, flag: MS_NODIRATIME },
  noexec: { clear: false, flag: MS_NOEXEC },
  noiversion: { clear: true, flag: MS_I_VERSION },
  nolazytime: { clear: true, flag: MS_LAZYTIME },
  nomand: { clear: true, flag: MS_MANDLOCK },
  norelatime: { clear: true, flag: MS_RELATIME },
  nostrictatime: { clear: true, flag: MS_STRICTATIME },
  nosuid: { clear: false, flag: MS_NOSUID },
  nosymfollow: { clear: false, flag: MS_NOSYMFOLLOW },
  rbind: { clear: false, flag: MS_BIND | MS_REC },
  relatime: { clear: false, flag: MS_RELATIME },
  remount: { clear: false, flag: MS_REMOUNT },
  ro: { clear: false, flag: MS_RDONLY },
  rw: { clear: true, flag: MS_RDONLY },
  silent: { clear: false, flag: MS_SILENT },
  strictatime: { clear: false, flag: MS_STRICTATIME },
  suid: { clear: true, flag: MS_NOSUID },
  sync: { clear: false, flag: MS_SYNCHRONOUS },
  symfollow: { clear: true, flag: MS_NOSYMFOLLOW },
});

/** Propagation options, applied with a separate mount(2) call after the mount. */
export const MOUNT_PROPAGATION_OPTIONS: Readonly<Record<string, number>> = Object.freeze({
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
});

/** Recursive mount attributes, applied with mount_setattr(2, AT_RECURSIVE) (Linux 5.12+). */
export const MOUNT_RECURSIVE_OPTIONS: Readonly<Record<string, FlagOption>> = Object.freeze({
  rro: { clear: false, flag: MOUNT_ATTR_RDONLY },
  rrw: { clear: true, flag: MOUNT_ATTR_RDONLY },
  rnosuid: { clear: false, flag: MOUNT_ATTR_NOSUID },
  rsuid: { clear: true, flag: MOUNT_ATTR_NOSUID },
  rnodev: { clear: false, flag: MOUNT_ATTR_NODEV },
  rdev: { clear: true, flag: MOUNT_ATTR_NODEV },
  rnoexec: { clear: false, flag: MOUNT_ATTR_NOEXEC },
  rexec: { clear: true, flag: MOUNT_ATTR_NOEXEC },
  rnodiratime: { clear: false, flag: MOUNT_ATTR_NODIRATIME },
  rdiratime: { clear: true, flag: MOUNT_ATTR_NODIRATIME },
  rrelatime: { clear: false, flag: MOUNT_ATTR_RELATIME },
  rnorelatime: { clear: true, flag: MOUNT_ATTR_RELATIME },
  rnoatime: { clear: false, flag: MOUNT_ATTR_NOATIME },
  ratime: { clear: true, flag: MOUNT_ATTR_NOATIME },
  rstrictatime: { clear: false, flag: MOUNT_ATTR_STRICTATIME },
  rnostrictatime: { clear: true, flag: MOUNT_ATTR_STRICTATIME },
  rnosymfollow: { clear: false, flag: MOUNT_ATTR_NOSYMFOLLOW },
  rsymfollow: { clear: true, flag: MOUNT_ATTR_NOSYMFOLLOW },
});

/** Options handled by the runtime itself, never passed to mount(2). */
export const MOUNT_EXTENSION_OPTIONS: readonly string[] = Object.freeze([
  'tmpcopyup', // copy the existing content of the destination into a fresh tmpfs
  'idmap', // id-mapped mount (mount_setattr MOUNT_ATTR_IDMAP)
  'ridmap', // recursive id-mapped mount
]);

const has = (table: object, key: string): boolean => Object.hasOwn(table, key);

export function isIdmapOption(option: string): boolean {
  return option === 'idmap' || option === 'ridmap';
}

/** True if the options make this a bind mount ("bind" or "rbind"). */
export function isBindMount(options: readonly string[] | undefined): boolean {
  return options !== undefined && options.some((o) => o === 'bind' || o === 'rbind');
}

/** True if the runtime interprets this option (otherwise it is filesystem data). */
export function isKnownMountOption(option: string): boolean {
  return (
    has(MOUNT_FLAG_OPTIONS, option) ||
    has(MOUNT_PROPAGATION_OPTIONS, option) ||
    has(MOUNT_RECURSIVE_OPTIONS, option) ||
    MOUNT_EXTENSION_OPTIONS.includes(option)
  );
}

/** The sorted list `berth-oci features` reports as mountOptions (as runc: idmap/ridmap are reported
 * through linux.mountExtensions instead). */
export function knownMountOptions(): string[] {
  return [
    ...Object.keys(MOUNT_FLAG_OPTIONS),
    ...Object.keys(MOUNT_PROPAGATION_OPTIONS),
    ...Object.keys(MOUNT_RECURSIVE_OPTIONS),
    'tmpcopyup',
  ].sort();
}
