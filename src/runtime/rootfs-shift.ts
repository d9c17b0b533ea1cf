// The chown-copy fallback for a user-namespaced rootfs on a file system that cannot be
// idmapped (FUSE, ...): a copy of the rootfs whose owners are shifted into the container's
// mapped range, made once per (rootfs, mappings) and cached under <state root>/.rootfs-shift;
// each container then runs on its own overlay over that copy, so containers sharing the copy
// never see each other's writes (and writes do not reach the original rootfs).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IDMapping } from '../spec/types.js';
import { RuntimeError } from './errors.js';

/** Host id of an on-disk id under the mapping (on-disk ids are container ids); unmapped: unchanged. */
export function shiftId(id: number, maps: readonly IDMapping[]): number {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return id;
}

/** The cache key: the rootfs (path and identity of its top directory) and both mappings. */
export function shiftKey(rootfs: string, uid: readonly IDMapping[], gid: readonly IDMapping[]): string {
  const real = realpathSync(rootfs);
  const st = statSync(real);
  const h = createHash('sha256').update(JSON.stringify([real, st.dev, st.ino, st.mtimeMs, uid, gid]));
  return h.digest('hex').slice(0, 32);
}

/** Rewrites the owners of every file under dir (not following symlinks), keeping set-id bits. */
export function shiftTree(dir: string, uid: readonly IDMapping[], gid: readonly IDMapping[]): number {
  let n = 0;
  const visit = (p: string) => {
    const st = lstatSync(p);
    const u = shiftId(st.uid, uid);
    const g = shiftId(st.gid, gid);
    if (u !== st.uid || g !== st.gid) {
      lchownSync(p, u, g);
      // chown clears setuid/setgid even for root: put them back (not on symlinks)
      if (!st.isSymbolicLink() && st.mode & 0o6000) chmodSync(p, st.mode & 0o7777);
      n++;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(dir);
  return n;
}

/** The shifted copy of rootfs for these mappings: from the cache, or made now (copied = true). */
export function shiftedCopy(rootfs: string, cacheRoot: string, uid: readonly IDMapping[], gid: readonly IDMapping[]): { dir: string; copied: boolean } {
  const dir = join(cacheRoot, shiftKey(rootfs, uid, gid));
  if (existsSync(join(dir, 'rootfs'))) return { dir: join(dir, 'rootfs'), copied: false };
  mkdirSync(cacheRoot, { recursive: true, mode: 0o711 });
  const tmp = join(cacheRoot, `.tmp-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o711 });
  try {
    // cp -a keeps hard links, devices, xattrs and times; reflinks where the file system can
    execFileSync('cp', ['-a', '--reflink=auto', '--', realpathSync(rootfs), join(tmp, 'rootfs')], { stdio: ['ignore', 'ignore', 'pipe'] });
    shiftTree(join(tmp, 'rootfs'), uid, gid);
    try {
      renameSync(tmp, dir); // atomic: a concurrent creator's copy wins, ours is dropped
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const msg = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
    throw new RuntimeError(`cannot make the owner-shifted copy of the rootfs ${rootfs}: ${msg}`);
  }
  return { dir: join(dir, 'rootfs'), copied: true };
}

/** A container's own writable overlay over the shared shifted copy, mounted at <dir>/merged
 * (removed by rootfs-layers.ts unmountRootfsDir). */
export function mountShiftedOverlay(lower: string, dir: string, rootUid: number, rootGid: number): string {
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const merged = join(dir, 'merged');
  if (/[,:\\]/.test(lower + upper + work)) throw new RuntimeError(`overlay paths cannot hold ",", ":" or "\\": ${lower}, ${dir}`);
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true, mode: 0o755 });
  // the merged root takes its owner and mode from the upper directory
  const st = statSync(lower);
  chownSync(upper, rootUid, rootGid);
  chmodSync(upper, st.mode & 0o7777);
  try {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new RuntimeError(`cannot mount the container's overlay over the shifted rootfs: ${(e as { stderr?: Buffer }).stderr?.toString().trim()}`);
  }
  return merged;
}
