// cgroup v1 freezer: freezer.state, polled until FROZEN (a task in an uninterruptible sleep can
// hold the cgroup in FREEZING; like runc, thaw and retry now and then).
import { CgroupError, errnoOf } from '../errors.js';
import { sleepSync, type HostFs } from '../hostfs.js';

const STATE = 'freezer.state';

/** Write freezer.state; a missing file means the cgroup is gone. */
function set(fs: HostFs, file: string, state: string): void {
  try {
    fs.write(file, state);
  } catch (e) {
    throw new CgroupError(`cannot write ${state} to ${fs.real(file)} (${errnoOf(e) || (e as Error).message}); does the container's cgroup still exist?`, '', { cause: e });
  }
}

export function freezeV1(fs: HostFs, dir: string, timeoutMs = 5000): void {
  const file = `${dir}/${STATE}`;
  const start = Date.now();
  for (let i = 0; ; i++) {
    if (i % 50 === 0) {
      if (i > 0) set(fs, file, 'THAWED');
      set(fs, file, 'FROZEN');
    }
    const state = fs.read(file).trim();
    if (state === 'FROZEN') return;
    if (Date.now() - start > timeoutMs) {
      set(fs, file, 'THAWED');
      throw new CgroupError(`freezing ${fs.real(dir)} did not finish within ${timeoutMs} ms (state ${state}); a process may be stuck in the kernel`);
    }
    sleepSync(i < 10 ? 1 : 10);
  }
}

export function thawV1(fs: HostFs, dir: string): void {
  const file = `${dir}/${STATE}`;
  for (let i = 0; i < 1000; i++) {
    set(fs, file, 'THAWED');
    if (fs.read(file).trim() === 'THAWED') return;
    sleepSync(1);
  }
  throw new CgroupError(`thawing ${fs.real(dir)} did not finish`);
}

export function isFrozenV1(fs: HostFs, dir: string): boolean {
  const s = fs.tryRead(`${dir}/${STATE}`)?.trim();
  return s === 'FROZEN';
}
