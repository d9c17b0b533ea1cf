// Persistent network namespaces: a new netns bind-mounted on a file, so it outlives the
// processes in it (a container restarted by its monitor rejoins it by path). Node can neither
// unshare nor mount: `berth-shim netns add|del PATH` (native/berth-netns.c) does it in one short
// static process each -- 4-6x cheaper here than util-linux's `unshare --net=` and `umount -l`.
import { execFile, spawn } from 'node:child_process';
import { SHIM_PATH } from '../runtime/launch.js';
import { system } from '../network/errors.js';

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

/** Unmounts and removes `path`; a file that is not (or no longer) a mount is just removed. */
export function removeNetns(path: string): Promise<void> {
  return shim('del', path);
}

/**
 * removeNetns without waiting: unmounting waits for an RCU grace period (10-60 ms on a loaded
 * host), which a stopped container's caller need not sit through. The helper finishes on its own
 * even if berth exits first; a later release or reconcile retries what it could not do.
 */
export function removeNetnsLater(path: string): void {
  try {
    spawn(SHIM_PATH, ['netns', 'del', path], { detached: true, stdio: 'ignore' }).on('error', () => {}).unref();
  } catch {
    /* retried by the next release */
  }
}
