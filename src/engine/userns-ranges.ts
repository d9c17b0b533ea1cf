// Host id ranges of --userns=auto containers, persisted in <root>/userns-ranges.json (written
// atomically under a lock file) so that two containers never share a range. The pool is the
// subordinate range of a "berth" user in /etc/subuid and /etc/subgid when both exist (as
// podman's "containers" user), else a built-in one far above ordinary ids.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLockSync } from '../network/lock.js';
import type { IDMapping } from '../spec/types.js';
import { invalid } from './errors.js';

export const BUILTIN_POOL = { start: 2 ** 30, size: 2 ** 30 };
/** A range made by a create that has not reached the store yet is not reclaimed this soon. */
const GRACE_MS = 10 * 60 * 1000;

interface Entry {
  start: number;
  size: number;
  at: number;
}

function subRange(file: string, user: string): { start: number; size: number } | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, start, size] = line.trim().split(':');
      if (name === user && /^\d+$/.test(start ?? '') && /^\d+$/.test(size ?? '')) return { start: Number(start), size: Number(size) };
    }
  } catch {
    /* no such file */
  }
  return undefined;
}

/** The pool: the "berth" user's subordinate ids when both files list the same range. */
export function idPool(): { start: number; size: number; source: string } {
  const u = subRange('/etc/subuid', 'berth');
  const g = subRange('/etc/subgid', 'berth');
  if (u && g && u.start === g.start && u.size === g.size) return { ...u, source: '/etc/subuid and /etc/subgid (user berth)' };
  return { ...BUILTIN_POOL, source: 'built-in' };
}

export class UsernsRanges {
  private readonly file: string;
  constructor(root: string) {
    this.file = join(root, 'userns-ranges.json');
  }

  private read(): Record<string, Entry> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Entry>;
    } catch {
      return {};
    }
  }

  private write(all: Record<string, Entry>): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all));
    renameSync(tmp, this.file);
  }

  /**
   * A free range of `size` ids for container id (the same one again when it has one). Ranges of
   * containers that no longer exist (exists() false, older than a grace period) are reused.
   */
  allocate(id: string, size: number, exists: (id: string) => boolean): IDMapping {
    return withLockSync(`${this.file}.lock`, () => {
      const all = this.read();
      const now = Date.now();
      for (const [k, e] of Object.entries(all)) if (k !== id && !exists(k) && now - e.at > GRACE_MS) delete all[k];
      const mine = all[id];
      if (mine && mine.size === size) return { containerID: 0, hostID: mine.start, size };
      delete all[id];
      const pool = idPool();
      const used = Object.values(all).sort((a, b) => a.start - b.start);
      let at = pool.start;
      for (const e of used) {
        if (e.start + e.size <= at) continue;
        if (e.start >= at + size) break;
        at = e.start + e.size;
      }
      if (at + size > pool.start + pool.size) {
        throw invalid(`--userns=auto: no free range of ${size} ids left in the ${pool.source} pool (${pool.start}-${pool.start + pool.size - 1}); remove containers or use --uidmap`);
      }
      all[id] = { start: at, size, at: now };
      this.write(all);
      return { containerID: 0, hostID: at, size };
    });
  }

  release(id: string): void {
    withLockSync(`${this.file}.lock`, () => {
      const all = this.read();
      if (!(id in all)) return;
      delete all[id];
      this.write(all);
    });
  }
}
