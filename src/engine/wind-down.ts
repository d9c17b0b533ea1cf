// A container whose init has exited while its monitor still lives and will not run it again is
// only winding down: the monitor is reaping the init, writing `exit`, forking its exit command,
// for microseconds to milliseconds. Reconcile keeps it live until the monitor is gone (so that
// `wait` and `run --rm` answer once it is recorded), but `rm`, `start` and `attach` must act on
// how it ends, as docker's do once its shim reported the exit: they wait for the monitor here,
// bounded like `rm -f`, then look again. A monitor that will restart the container is not
// waited for (it is restarting), nor one whose init runs.
// The monitor may exit between any two looks at it, so the looks go in an order that a change
// between them cannot mislead: winding down first, the monitor's being up after. A monitor once
// gone stays gone (pid and start time), so "not winding down, then up" means the container in
// hand is live now. The other order (up, then windingDown, which looked again and found it gone
// and so said "not winding down") took a container that had just exited for running: `rm` said
// "container is running" (the loop test's flake under load, where a preemption widens the gap).
import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime } from '../runtime/state.js';
import { readExitFile, readPidFile } from './monitor.js';
import { monitorWillRestart } from './restart-intent.js';
import { isLive } from './state.js';
import type { ContainerRecord } from './types.js';

/** How long a verb waits for a winding-down monitor (as `rm -f` for a killed one). */
export const WIND_DOWN_WAIT_MS = 5000;

type Rec = Pick<ContainerRecord, 'state' | 'monitorPid' | 'monitorStart' | 'hostConfig'>;

const monitorUp = (rec: Rec) => rec.monitorPid > 0 && processStartTime(rec.monitorPid) === rec.monitorStart;

/** How the monitor is looked at: tests pass one that sees it exit between two looks. */
type UpLook = (rec: Rec) => boolean;

/** The monitor is up, the init is gone (or a zombie: exited, not reaped yet) and no restart follows. */
export function windingDown(stateDir: string, rec: Rec, up: UpLook = monitorUp): boolean {
  if (!isLive(rec.state) || !up(rec)) return false;
  const pf = readPidFile(stateDir);
  if (!pf) return false; // still starting
  if (pf.pid > 0 && processStartTime(pf.pid) !== null) return false; // its init runs
  // undefined (on-failure, this run's status not written yet) counts: the next look decides
  return monitorWillRestart(stateDir, rec.hostConfig.RestartPolicy, pf.restarts, readExitFile(stateDir)) !== true;
}

/**
 * Waits while the container winds down (at most `ms`); true when the record in hand may be stale
 * (it wound down, or its monitor went between the caller's look and this one), so the caller
 * looks again. Polls finely first: a monitor is normally gone within a millisecond or two.
 */
export async function awaitWindDown(stateDir: string, rec: Rec, ms = WIND_DOWN_WAIT_MS, up: UpLook = monitorUp): Promise<boolean> {
  if (!isLive(rec.state)) return false;
  // in this order (the header): the record is current only if the monitor is still up after
  if (!windingDown(stateDir, rec, up) && up(rec)) return false;
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until && windingDown(stateDir, rec, up); i++) await sleep(i < 50 ? 1 : 10);
  return true;
}
