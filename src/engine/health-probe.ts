// A health probe's own cgroup, so that the probe and everything it forks can be killed at its
// timeout. Walking the process tree once is not enough: a child forked meanwhile, or one
// re-parented to the container's init when its shell died, survives. Every descendant of a
// process inherits its cgroup, so the probe is started (exec's CGROUP_PROCS) in a child cgroup
// of the container's -- below it, so the container's limits still hold, and pause, stop and
// the container's removal (which removes child cgroups) still cover it -- and killing means
// emptying that cgroup: cgroup.kill where the cgroup is a v2 one (v2 hosts, and the unified
// mount of hybrid hosts), else freeze, SIGKILL every task, thaw (cgroup v1 freezer).
//
// The child is named berth-probe-<pid of the probing CLI>-<random>; a probe whose CLI was
// killed leaves one behind, which the next probe of the container empties and removes.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openCgroupManager } from '../cgroups/index.js';
import type { ContainerRecord } from './types.js';

const PREFIX = 'berth-probe-';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function tasks(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ProbeCgroup {
  private constructor(
    /** The container's cgroup.procs files, the tracking one replaced by the probe's. */
    readonly procsFiles: string[],
    /** The probe's cgroup directory. */
    readonly dir: string,
    private readonly v2: boolean,
  ) {}

  /**
   * Makes the probe's cgroup below the container's (undefined when the container has no
   * cgroup we can nest in, e.g. rootless without delegation: then the probe runs in the
   * container's cgroup and is killed by its process tree, as before).
   */
  static create(rec: Pick<ContainerRecord, 'id' | 'spec'>): ProbeCgroup | undefined {
    let files: string[];
    try {
      files = openCgroupManager(rec.spec.linux?.cgroupsPath, rec.id).procsFiles();
    } catch {
      return undefined;
    }
    // a v2 cgroup (cgroup.kill) if there is one, else the v1 freezer hierarchy
    const pick = (test: string) => files.findIndex((f) => existsSync(`${dirname(f)}/${test}`));
    let i = pick('cgroup.kill');
    const v2 = i >= 0;
    if (!v2) i = pick('freezer.state');
    if (i < 0) return undefined;
    const parent = dirname(files[i]!);
    sweep(parent);
    const dir = `${parent}/${PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      mkdirSync(dir);
    } catch {
      return undefined;
    }
    const out = [...files];
    out[i] = `${dir}/cgroup.procs`;
    return new ProbeCgroup(out, dir, v2);
  }

  /** Kills every process in the probe's cgroup and waits (bounded) until it is empty. */
  async killAll(timeoutMs = 5000): Promise<boolean> {
    killCgroup(this.dir, this.v2);
    const until = Date.now() + timeoutMs;
    while (tasks(this.dir).length) {
      if (Date.now() > until) return false;
      await sleep(10);
      killCgroup(this.dir, this.v2); // v1: a task that was mid-fork at the first pass
    }
    return true;
  }

  /** Kills what is left and removes the cgroup (a killed task still exiting: the next probe's sweep removes it). */
  async remove(): Promise<void> {
    await this.killAll();
    try {
      rmdirSync(this.dir);
    } catch {
      /* still busy, or gone with the container */
    }
  }
}

function killCgroup(dir: string, v2: boolean): void {
  if (v2) {
    try {
      writeFileSync(`${dir}/cgroup.kill`, '1');
    } catch {
      /* gone */
    }
    return;
  }
  // v1: freeze so that nothing forks between reading the list and the signals, unless the
  // container itself is frozen (paused): then nothing can fork anyway, and our thaw would not
  // take while the parent stays frozen
  const state = `${dir}/freezer.state`;
  const parentFrozen = readFileSync(`${dirname(dir)}/freezer.state`, 'utf8').trim() !== 'THAWED';
  if (!parentFrozen) {
    writeFileSync(state, 'FROZEN');
    for (let i = 0; i < 500 && readFileSync(state, 'utf8').trim() !== 'FROZEN'; i++) sleepSync(2);
  }
  for (const pid of tasks(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (!parentFrozen) writeFileSync(state, 'THAWED');
}

/** Empties and removes probe cgroups whose CLI is gone (killed mid-probe). */
function sweep(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.slice(PREFIX.length).split('-')[0]);
    if (pid > 0 && pid !== process.pid && alive(pid)) continue;
    const dir = `${parent}/${n}`;
    try {
      killCgroup(dir, existsSync(`${dir}/cgroup.kill`));
      // the killed tasks leave the cgroup as they exit: wait a little (bounded), then remove it
      for (let i = 0; i < 100 && tasks(dir).length; i++) sleepSync(10);
      rmdirSync(dir);
    } catch {
      /* its processes are still exiting: next time */
    }
  }
}
