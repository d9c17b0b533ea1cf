// When may a berth process release the network of a container it is not starting itself
// (networking.ts reconcileStale, rm of a start killed midway)? Only when the container is this
// root's (or no live root's), no live berth is starting it, and it is not up.
//
// The order of those questions matters. A start writes its ".starting" marker, makes the netns
// and attaches, records the monitor (from then on the store says the container is live), and
// removes the marker last. Asked store first, marker second, a start that finishes between the
// two answers looks neither live nor starting, and its running container lost its endpoint
// record, address and netns (issue 7: one of 20 parallel `run -d` running with no IPAddress).
// So the store is asked again after the marker: a marker gone means the start is over, and the
// store, read after, says live -- or the start failed and released the network itself. (The
// store is asked first too: that answers for every running container without a file read.)
//
// The marker and the owner file are written whole (writeFileAtomic: temp file + rename, a temp
// name none of the names reconcileStale reads): a reader that met an empty file took a live
// starter for a dead one and removed its marker.
import { readFileSync } from 'node:fs';
import { processStartTime } from '../runtime/state.js';

export interface StaleProbes {
  /** This root's container, or one whose root is gone. */
  ours: (id: string) => boolean;
  /** A live berth process is starting it (its marker names a running process). */
  starting: (id: string) => boolean;
  /** The store says it is up, or its monitor runs. */
  active: (id: string) => boolean;
}

/** Whether the container's network is stale (see the top of the file for the order). */
export function networkStale(id: string, p: StaleProbes): boolean {
  return p.ours(id) && !p.active(id) && !p.starting(id) && !p.active(id);
}

/** The ".starting" marker's content: this process, by pid and start time (pids are reused). */
export function starterMark(): string {
  return `${process.pid} ${processStartTime(process.pid) ?? ''}`;
}

/** Whether the marker at `path` names a process that still runs. */
export function starterAlive(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.split(' ');
  return Number(pid) > 0 && processStartTime(Number(pid)) === start;
}
