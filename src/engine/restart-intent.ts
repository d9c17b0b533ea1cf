// Will a container's monitor run it again once its init has died? The engine's copy of the
// monitor's should_restart() (native/berth-monitor.c), so that reconcile can tell a container
// that is restarting from one whose monitor is only winding down (writing `exit`, running the
// exit command) -- the latter must stay live until the monitor is gone, or `run --rm` would
// return, and `wait` would answer, before the container is removed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitFile } from './monitor.js';
import type { RestartPolicy } from './types.js';

/** The policy in force: `berth update --restart` writes it to the state dir's `restart` file. */
function currentPolicy(stateDir: string, started: RestartPolicy): RestartPolicy {
  try {
    const [name, max] = readFileSync(join(stateDir, 'restart'), 'utf8').trim().split(/\s+/);
    if (name) return { Name: name as RestartPolicy['Name'], MaximumRetryCount: Number(max ?? 0) || 0 };
  } catch {
    /* no update: the policy the container started with */
  }
  return started;
}

/**
 * true: the monitor restarts the container; false: it is going down for good; undefined: it
 * depends on an exit status the monitor has not recorded yet (on-failure).
 */
export function monitorWillRestart(stateDir: string, started: RestartPolicy, restarts: number, exit: ExitFile | null): boolean | undefined {
  if (existsSync(join(stateDir, 'stopped'))) return false; // stop, kill, rm
  const p = currentPolicy(stateDir, started);
  if (p.Name === 'always' || p.Name === 'unless-stopped') return true;
  if (p.Name !== 'on-failure') return false;
  if (!exit || exit.restarts !== restarts) return undefined; // this run's status is not written yet
  return exit.status !== 0 && (p.MaximumRetryCount <= 0 || restarts < p.MaximumRetryCount);
}
