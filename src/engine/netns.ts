// Persistent network namespaces: a new netns bind-mounted on a file, so it outlives the
// processes in it (a container restarted by its monitor rejoins it by path). Node can neither
// unshare nor mount: `berth-shim netns add PATH` (native/berth-netns.c) makes one in a short
// static process (4-6x cheaper here than util-linux's `unshare --net=`); the engine usually has
// it made by the process that creates the links (links.ts: `netns add PATH netlink`).
// Removal is one lazy unmount and an unlink: the unmount goes through the process's storage
// helper (`berth-shim storage serve`, src/storage/helper.ts), already running for the
// container's root file system, so a stopping container costs no process start (0.5 ms median
// here under load, against 1-2 ms of node's main thread to spawn `berth-shim netns del`).
import { execFile } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { SHIM_PATH } from '../runtime/launch.js';
import { system } from '../network/errors.js';
import { errno } from '../network/fsutil.js';
import { unmount } from '../storage/helper.js';

function shim(op: 'add' | 'del', path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(SHIM_PATH, ['netns', op, path], { encoding: 'utf8' }, (err, _out, stderr) => {
      if (err) reject(system(`network namespace: ${(stderr || err.message).trim()}`));
      else resolve();
    });
  });
}

/** Creates the namespace at `path` (which must not exist). */
export function createNetns(path: string): Promise<void> {
  return shim('add', path);
}

/**
 * Unmounts (lazily: MNT_DETACH) and removes `path`; a file that is not (or no longer) a mount is
 * just removed. The kernel frees the namespace, and the veth pairs in it, once nothing uses it.
 */
export async function removeNetns(path: string): Promise<void> {
  try {
    await unmount(path, true);
  } catch (e) {
    const code = (e as { code?: string }).code;
    // EINVAL: not a mount point (already unmounted); ENOENT: gone
    if (code !== 'EINVAL' && code !== 'ENOENT') {
      // no storage helper (it could not start): the shim does both steps itself
      if (code === undefined || !code.startsWith('E')) return shim('del', path);
      throw system(`network namespace: unmount ${path}: ${(e as Error).message}`);
    }
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw system(`network namespace: remove ${path}: ${(e as Error).message}`);
  }
}
