// What wakes a `logs -f` follower (as docker's json-file follower, by inotify): fs.watch on the
// log's directory (writes to the log, the rotation's renames and the new file) and on the
// container's state directory (the monitor removes attach.sock as it goes: the container has
// stopped). A monitor killed with -9 removes nothing: the follower also holds the read end of the
// monitor's "alive" fifo (native/berth-monitor.c alive_open), whose hang-up comes the moment the
// monitor is gone. A slow safety poll stays as the fallback for a missed event; where fs.watch
// cannot watch (no inotify, out of watches) the follower polls as it did before.
import { closeSync, constants, openSync, watch, type FSWatcher } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';

/** The safety poll while watching, and the poll without a watcher (the old follow's). */
export const SAFETY_POLL_MS = 1000;
export const UNWATCHED_POLL_MS = 100;
/** While the monitor is going (attach.sock removed), its exit is looked for this often. */
const LEAVING_POLL_MS = 20;
const LEAVING_POLLS = 100;

export class LogWaker {
  private readonly watchers: FSWatcher[] = [];
  private monitorHold: Socket | undefined;
  private dirty = false;
  private wake: (() => void) | undefined;
  private leavingPolls = 0;
  /** Whether every directory asked for is watched (else waits are polls). */
  readonly watching: boolean;

  /** dirs: [log directory, state directory?]; a missing state directory is not watched. */
  constructor(logDir: string, stateDir?: string) {
    let ok = this.add(logDir);
    if (stateDir) ok = this.add(stateDir, (name) => name === 'attach.sock' || name === 'exit') && ok;
    if (stateDir) this.holdMonitor(stateDir);
    this.watching = ok;
  }

  /** The read end of the monitor's "alive" fifo: its end (EOF, the last writer gone) is the monitor's. */
  private holdMonitor(stateDir: string): void {
    let fd: number;
    try {
      fd = openSync(join(stateDir, 'alive'), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return; // gone already, or a monitor from before the fifo: the watches and the poll tell
    }
    let s: Socket;
    try {
      s = new Socket({ fd, readable: true, writable: false });
    } catch {
      closeSync(fd); // not a fifo (not the monitor's): the watches and the poll tell
      return;
    }
    s.unref(); // as the watchers: the follower's own wait keeps the process alive
    const leaving = () => {
      this.leavingPolls = LEAVING_POLLS; // the monitor's process may take a moment to be seen gone
      this.poke();
    };
    s.on('end', leaving);
    s.on('error', leaving);
    s.resume(); // nothing is ever written: reading only to see the end
    this.monitorHold = s;
  }

  private add(dir: string, isLeaving?: (name: string) => boolean): boolean {
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_type, name) => {
        if (isLeaving && name && isLeaving(String(name))) this.leavingPolls = LEAVING_POLLS;
        this.poke();
      });
    } catch {
      return false; // ENOSPC (out of inotify watches), ENOENT, a file system without inotify
    }
    // a watcher that fails later (its directory removed) leaves the follower to the safety poll
    w.on('error', () => this.poke());
    this.watchers.push(w);
    return true;
  }

  private poke(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Called before each look at the files: events from here on wake the next wait (an event that
   * came while the files were being read makes that wait return at once).
   */
  arm(): void {
    this.dirty = false;
  }

  /** Waits for an event, the poll (pollMs, or the defaults) or the signal. */
  wait(pollMs: number | undefined, signal?: AbortSignal): Promise<void> {
    if (this.dirty || signal?.aborted) return Promise.resolve();
    let ms = pollMs ?? (this.watching ? SAFETY_POLL_MS : UNWATCHED_POLL_MS);
    if (this.leavingPolls > 0) {
      this.leavingPolls--;
      ms = Math.min(ms, LEAVING_POLL_MS);
    }
    return new Promise<void>((res) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        res();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.close();
    this.monitorHold?.destroy();
    this.monitorHold = undefined;
    this.wake?.();
  }
}
