// Directory work shared by the backends: create a cgroup path, remove it, walk it for pids.
import { CgroupError, errnoOf } from './errors.js';
import { sleepSync, type HostFs } from './hostfs.js';
import { parsePids } from './parse.js';

/**
 * Create `dir` and its missing ancestors below `top` (a hierarchy mountpoint, which must exist).
 * `beforeChild(parent)` runs before each level is entered (v2 enables controllers there);
 * `afterCreate(dir, parent)` after each mkdir. Returns the directories created, top-down; on
 * failure removes them again and throws.
 */
export function mkdirChain(
  fs: HostFs, top: string, dir: string,
  hooks: { beforeChild?: (parent: string) => void; afterCreate?: (dir: string, parent: string) => void } = {},
): string[] {
  const created: string[] = [];
  // Fast path (the usual case: the parent, e.g. /berth, exists and no hook runs per level):
  // one mkdir of the leaf instead of a mkdir (EEXIST) for every ancestor.
  if (!hooks.beforeChild && dir.length > top.length) {
    let made: boolean | undefined;
    try {
      made = fs.mkdir(dir);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw new CgroupError(`cannot create cgroup ${fs.real(dir)} (${errnoOf(e) || (e as Error).message})`, 'linux.cgroupsPath', { cause: e });
    }
    if (made === false) return created;
    if (made) {
      created.push(dir);
      try {
        hooks.afterCreate?.(dir, dir.slice(0, dir.lastIndexOf('/')));
      } catch (e) {
        removeCreated(fs, created);
        throw e;
      }
      return created;
    }
  }
  const rest = dir.slice(top.length).split('/').filter(Boolean);
  let cur = top;
  try {
    for (const seg of rest) {
      const parent = cur;
      cur = `${cur}/${seg}`;
      hooks.beforeChild?.(parent);
      let made: boolean;
      try {
        made = fs.mkdir(cur);
      } catch (e) {
        throw new CgroupError(`cannot create cgroup ${fs.real(cur)} (${errnoOf(e) || (e as Error).message})`, 'linux.cgroupsPath', { cause: e });
      }
      if (made) {
        created.push(cur);
        hooks.afterCreate?.(cur, parent);
      }
    }
  } catch (e) {
    removeCreated(fs, created);
    throw e;
  }
  return created;
}

const RETRY_MS = [10, 20, 40, 80, 160, 320];

function rmdirRetry(fs: HostFs, dir: string): void {
  for (let i = 0; ; i++) {
    try {
      fs.rmdir(dir);
      return;
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= RETRY_MS.length) {
        const alive = collectPids(fs, dir);
        const why = alive.length ? `processes ${alive.slice(0, 10).join(', ')} are still in it` : code;
        throw new CgroupError(`cannot remove cgroup ${fs.real(dir)}: ${why}`, '', { cause: e });
      }
      sleepSync(RETRY_MS[i]!);
    }
  }
}

/**
 * Remove a cgroup and every cgroup below it (made inside the container), deepest first. The
 * rmdir is tried first: a cgroup without children (the usual case) costs no directory listing.
 */
export function removeCgroup(fs: HostFs, dir: string): void {
  try {
    fs.rmdir(dir);
    return;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    // EBUSY: child cgroups or live processes; the slow path below removes children and retries.
  }
  for (const child of fs.subdirs(dir)) removeCgroup(fs, `${dir}/${child}`);
  rmdirRetry(fs, dir);
}

/** Remove directories this process created (given top-down), deepest first, only when empty. */
export function removeCreated(fs: HostFs, createdTopDown: string[]): void {
  for (let i = createdTopDown.length - 1; i >= 0; i--) {
    try {
      fs.rmdir(createdTopDown[i]!);
    } catch {
      // Not empty (another container is in it) or already gone: leave it.
    }
  }
}

/** Every pid in a cgroup and below it. */
export function collectPids(fs: HostFs, dir: string, into: Set<number> = new Set()): number[] {
  for (const p of parsePids(fs.tryRead(`${dir}/cgroup.procs`))) into.add(p);
  for (const child of fs.subdirs(dir)) collectPids(fs, `${dir}/${child}`, into);
  return [...into];
}

/** Send a signal to each pid, ignoring those that have exited. */
export function signalAll(pids: number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (errnoOf(e) !== 'ESRCH') throw new CgroupError(`cannot signal process ${pid}: ${(e as Error).message}`, '', { cause: e });
    }
  }
}
