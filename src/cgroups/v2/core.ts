// The cgroup v2 core files every v2 cgroup has, controllers or not: cgroup.freeze,
// cgroup.events, cgroup.kill, *.pressure. Used by the v2 backend and, through the unified
// mount, by the hybrid one.
import { CgroupError, errnoOf } from '../errors.js';
import { sleepSync, type HostFs } from '../hostfs.js';
import type { CgroupStats } from '../manager.js';
import { parseFlatKeyed, parsePsi } from '../parse.js';

export function events(fs: HostFs, dir: string): Map<string, number> {
  return parseFlatKeyed(fs.tryRead(`${dir}/cgroup.events`));
}

/** Write cgroup.freeze and wait for cgroup.events to report the state. */
export function setFrozenV2(fs: HostFs, dir: string, frozen: boolean, timeoutMs = 5000): void {
  try {
    fs.write(`${dir}/cgroup.freeze`, frozen ? '1' : '0');
  } catch (e) {
    throw new CgroupError(`cannot write ${fs.real(dir)}/cgroup.freeze (${errnoOf(e) || (e as Error).message}); does the container's cgroup still exist?`, '', { cause: e });
  }
  const want = frozen ? 1 : 0;
  const start = Date.now();
  for (let i = 0; ; i++) {
    const ev = events(fs, dir);
    if (!ev.has('frozen') || ev.get('frozen') === want) return; // kernels < 5.2 have no "frozen"
    if (Date.now() - start > timeoutMs) {
      if (frozen) fs.write(`${dir}/cgroup.freeze`, '0');
      throw new CgroupError(`${frozen ? 'freezing' : 'thawing'} ${fs.real(dir)} did not finish within ${timeoutMs} ms`);
    }
    sleepSync(i < 10 ? 1 : 10);
  }
}

/**
 * Paused: a freeze asked for (cgroup.freeze, as runc reads it) or in force (cgroup.events, which
 * also shows an ancestor's freeze). A freeze asked for but not in force -- a task forked or moved
 * in meanwhile -- is still a paused container: it must show as paused and resume must thaw it.
 */
export function isFrozenV2(fs: HostFs, dir: string): boolean {
  return fs.tryRead(`${dir}/cgroup.freeze`)?.trim() === '1' || events(fs, dir).get('frozen') === 1;
}

/** SIGKILL everything in the cgroup at once (Linux >= 5.14); false when there is no cgroup.kill. */
export function killAllV2(fs: HostFs, dir: string): boolean {
  if (!fs.exists(`${dir}/cgroup.kill`)) return false;
  fs.write(`${dir}/cgroup.kill`, '1');
  return true;
}

export function pressure(fs: HostFs, dir: string): CgroupStats['pressure'] {
  const out: NonNullable<CgroupStats['pressure']> = {};
  for (const k of ['cpu', 'memory', 'io'] as const) {
    const p = parsePsi(fs.tryRead(`${dir}/${k}.pressure`));
    if (p) out[k] = p;
  }
  return Object.keys(out).length ? out : undefined;
}
