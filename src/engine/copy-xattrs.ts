// Extended attributes in `cp`, both ways and in its tar streams (PAX SCHILY.xattr.*, as docker
// and GNU tar write them): user.* attributes, POSIX ACLs and a binary's security.capability
// survive a copy. Node has no xattr calls: copy-xattr-calls.ts makes the l* calls (in this
// process through an addon, else through the storage helper); an entry is named to them as
// /proc/<this pid>/fd/<its directory's fd>/<name>, so the directory is the one cp resolved
// safely and a symlink as the last component is not followed.
import { getXattrs, setXattr } from './copy-xattr-calls.js';
import { isForbiddenXattr } from '../storage/unpack/whiteout.js';

/**
 * Not copied: security.selinux (a label belongs to the policy of the system that set it; the
 * copy gets the one its destination gives it, which is also what docker's archive does: it
 * reads only security.capability from disk), and overlayfs's own attributes (a forged opaque
 * or redirect flag would change what an overlay shows).
 */
export function copiedXattr(name: string): boolean {
  return name !== 'security.selinux' && !isForbiddenXattr(name);
}

/** The l* calls' name for an entry of the directory dirFd (name '' is the directory itself). */
const viaFd = (dirFd: number, name: string) => `/proc/${process.pid}/fd/${dirFd}/${name || '.'}`;

/**
 * A capability set of revision 3 (with the root uid of the user namespace that set it) becomes
 * revision 2: that uid means nothing outside the namespace (docker converts it the same way).
 */
function portableCapability(v: Buffer): Buffer {
  if (v.length >= 24 && v[3] === 3) {
    const out = Buffer.from(v.subarray(0, 20));
    out[3] = 2;
    return out;
  }
  return v;
}

/** The attributes cp copies of an entry; undefined when there are none (or cannot be read). */
export async function readXattrs(dirFd: number, name: string): Promise<Map<string, Buffer> | undefined> {
  let all: Map<string, Buffer>;
  try {
    all = await getXattrs(viaFd(dirFd, name));
  } catch {
    return undefined; // a file system without xattrs, or gone meanwhile: copied without them
  }
  const out = new Map<string, Buffer>();
  for (const [k, v] of all) if (copiedXattr(k)) out.set(k, k === 'security.capability' ? portableCapability(v) : v);
  return out.size ? out : undefined;
}

/**
 * Sets an extracted entry's attributes, after its owner and mode (chown clears
 * security.capability). Where the destination cannot take one (no xattr support, a symlink's
 * user.*, trusted.* or security.* without the privilege) it is left out, as docker does.
 */
export async function writeXattrs(dirFd: number, name: string, xattrs: Map<string, Buffer> | undefined): Promise<void> {
  if (!xattrs?.size) return;
  for (const [k, v] of xattrs) {
    if (!copiedXattr(k)) continue;
    try {
      await setXattr(viaFd(dirFd, name), k, v);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM' || code === 'EACCES' || code === 'ERANGE') continue;
      throw e;
    }
  }
}
