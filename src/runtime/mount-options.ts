// OCI mount options -> mount(2) flags, propagation, mount_setattr attributes and fs data.
// The option tables live in src/spec/mount-options.ts (validation and `features` use them too).
import {
  MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MOUNT_FLAG_OPTIONS,
  MOUNT_PROPAGATION_OPTIONS, MOUNT_RECURSIVE_OPTIONS, isIdmapOption,
} from '../spec/mount-options.js';
import { MS } from './plan.js';

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

/** Flags a bind mount only honours through a later remount. */
const BIND_REMOUNTABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME |
  MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

const ATIME_ATTRS = new Set([MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME]);

export function parseMountOptions(options: readonly string[] | undefined, type: string | undefined): ParsedMountOptions {
  const r: ParsedMountOptions = {
    flags: 0, bindRemountFlags: 0, propagation: 0, attrSet: 0, attrClr: 0, data: [],
    bind: type === 'bind', recursiveBind: false, idmap: false, recursiveIdmap: false,
  };
  for (const o of options ?? []) {
    const flag = Object.hasOwn(MOUNT_FLAG_OPTIONS, o) ? MOUNT_FLAG_OPTIONS[o] : undefined;
    if (flag) {
      if (flag.clear) r.flags &= ~flag.flag;
      else r.flags |= flag.flag;
      continue;
    }
    if (Object.hasOwn(MOUNT_PROPAGATION_OPTIONS, o)) {
      r.propagation |= MOUNT_PROPAGATION_OPTIONS[o]!;
      continue;
    }
    const rec = Object.hasOwn(MOUNT_RECURSIVE_OPTIONS, o) ? MOUNT_RECURSIVE_OPTIONS[o] : undefined;
    if (rec) {
      // the atime modes are one field: setting one means clearing the field first
      const atime = ATIME_ATTRS.has(rec.flag) && (o === 'rrelatime' || o === 'rnoatime' || o === 'rstrictatime');
      if (atime) {
        r.attrClr |= MOUNT_ATTR__ATIME;
        r.attrSet |= rec.flag;
      } else if (rec.clear) r.attrClr |= rec.flag;
      else r.attrSet |= rec.flag;
      continue;
    }
    if (isIdmapOption(o)) {
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
