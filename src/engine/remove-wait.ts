// `rm` (and `wait` of an auto-removed container) return once nothing of the container runs, as
// docker's do. The monitor's exit is not that moment: it may leave running its exit command
// (`berth system cleanup ID`, which may still be removing what the container held) and a health
// probe (not the child that lets attach clients go: it holds nothing of the container). So the
// monitor writes them, as
// "pid starttime" lines, to <state dir>.procs when it exits (native/berth-monitor.c
// record_leftovers; next to the state directory, which the cleanup removes), and the remover
// waits for them here. Bounded: a stuck exit command holds `rm` a few seconds at most, then `rm`
// goes on and says so.
import { readFileSync } from 'node:fs';
import { rmQuiet } from '../network/fsutil.js';
import { processStartTime } from '../runtime/state.js';

/** How long a remover waits for what the monitor left running. */
export const LEFTOVER_WAIT_MS = 5000;

export const leftoversFile = (stateDir: string): string => `${stateDir}.procs`;

interface Leftover {
  pid: number;
  start: string;
}

/** The processes recorded, without this one (the exit command waits for the others). */
export function readLeftovers(stateDir: string): Leftover[] {
  let text: string;
  try {
    text = readFileSync(leftoversFile(stateDir), 'utf8');
  } catch {
    return []; // the monitor left nothing running (or was killed: then it started nothing after)
  }
  return text.split('\n').map((l) => l.split(' ')).map(([p, s]) => ({ pid: Number(p), start: s ?? '' }))
    .filter((x) => Number.isInteger(x.pid) && x.pid > 0 && x.start && x.pid !== process.pid);
}

/** Still the process recorded (pids are reused: the start time says); a zombie is done. */
const running = (x: Leftover) => processStartTime(x.pid) === x.start;

function describe(x: Leftover): string {
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${x.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => a.replace(/^.*\//, '')).join(' ');
  } catch {
    /* gone meanwhile */
  }
  return `pid ${x.pid}${cmd ? ` (${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd})` : ''}`;
}

/** A removal nobody waits on (an auto-remove by a reconcile): forget the record once nothing it names runs. */
export function forgetLeftoversIfDone(stateDir: string): void {
  if (!readLeftovers(stateDir).some(running)) rmQuiet(leftoversFile(stateDir));
}

/**
 * Waits until every process the container's monitor left running is gone (at most `ms`), then
 * forgets the record. `what` starts the warning when one outlives the wait ("removing 0123abcd").
 */
export async function awaitLeftovers(stateDir: string, warn: (m: string) => void, what: string, ms = LEFTOVER_WAIT_MS): Promise<void> {
  let live = readLeftovers(stateDir).filter(running);
  const until = Date.now() + ms;
  for (let i = 0; live.length && Date.now() < until; i++) {
    await new Promise((r) => setTimeout(r, i < 20 ? 2 : 20));
    live = live.filter(running);
  }
  if (live.length) warn(`${what}: ${live.map(describe).join(', ')} of the container still running after ${Math.round(ms / 1000)} s; going on without waiting for it`);
  rmQuiet(leftoversFile(stateDir));
}
