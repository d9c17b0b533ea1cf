// Small file-system helpers of the storage side: atomic JSON, disk usage, file-system type.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, statfsSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoCode } from './errors.js';

/** Writes JSON atomically: a temporary file, fsync, rename. */
export function writeJsonAtomic(path: string, value: unknown, opts: { fsync?: boolean } = {}): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(value, null, 1) + '\n');
    if (opts.fsync !== false) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readJsonOrUndefined<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Disk usage (allocated blocks) under dir, each inode once; stays on dir's file system. */
export function diskUsage(dir: string, seen = new Set<string>()): number {
  let total = 0;
  let rootDev: number | undefined;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (rootDev === undefined) rootDev = st.dev;
    if (st.dev !== rootDev) return; // a mount point (a container's overlay, a loop file system)
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 || st.isDirectory()) {
      if (seen.has(key)) return;
      seen.add(key);
    }
    total += st.blocks * 512;
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p);
      } catch {
        return;
      }
      for (const n of names) walk(join(p, n));
    }
  };
  walk(dir);
  return total;
}

export const FS_MAGIC = {
  btrfs: 0x9123683e,
  xfs: 0x58465342,
  overlay: 0x794c7630,
  tmpfs: 0x01021994,
  ext4: 0xef53,
} as const;

export function fsType(path: string): number {
  return Number(statfsSync(path).type);
}

/** The chain id of a layer (OCI image spec): the diff_id for a base, else sha256(parent + " " + diffId). */
export function chainIdOf(parent: string | undefined, diffId: string): string {
  return parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** Chain ids of a layer stack, bottom first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainIdOf(out[out.length - 1], d));
  return out;
}

/** The mount points of this mount namespace (decoded paths), from /proc/self/mountinfo. */
export function mountPoints(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.add(f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** The mount that holds path (longest mount point that is a prefix of it). */
export function mountOf(path: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): MountInfo | undefined {
  const dec = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best: MountInfo | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 5 || sep < 0) continue;
    const mp = dec(f[4]!);
    if (!(path === mp || path.startsWith(mp.endsWith('/') ? mp : mp + '/'))) continue;
    if (best && best.mountPoint.length > mp.length) continue;
    best = { mountPoint: mp, fsType: f[sep + 1] ?? '', source: dec(f[sep + 2] ?? ''), superOptions: (f[sep + 3] ?? '').split(',') };
  }
  return best;
}
