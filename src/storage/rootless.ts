// Storage for a berth that is not root on the host (rootless: inside a user namespace it owns).
// Overlay there needs the `userxattr` mount option, and its opaque-directory marker is then
// "user.overlay.opaque" (trusted.* xattrs need CAP_SYS_ADMIN in the initial namespace). Whiteouts
// stay 0/0 character devices: the kernel lets anyone make those (since 5.8). Ownership and
// device nodes of a layer cannot be reproduced there (one mapped id): files belong to the user.
import { readFileSync } from 'node:fs';

export const USER_OPAQUE_XATTR = 'user.overlay.opaque';

let cached: boolean | undefined;

/** True unless this process sees the initial user namespace's full id map ("0 0 4294967295"). */
export function inUserNamespace(uidMap?: string): boolean {
  if (uidMap === undefined && cached !== undefined) return cached;
  let map = uidMap;
  try {
    map ??= readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    map = '';
  }
  const lines = map.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const initial = lines.length === 1 && lines[0]![0] === 0 && lines[0]![1] === 0 && lines[0]![2] === 4294967295;
  if (uidMap === undefined) cached = !initial;
  return !initial;
}

/** Root of the host: owners and device nodes of layers can be reproduced. */
export function hostRoot(): boolean {
  return process.getuid?.() === 0 && !inUserNamespace();
}
