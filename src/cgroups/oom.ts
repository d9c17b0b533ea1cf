// OOM kill notification by polling.
//
// cgroup v1 reports OOM through an eventfd registered in cgroup.event_control, and v2 through
// inotify on memory.events; neither is reachable from Node without native code. So this polls
// the kill counter instead -- one small file read per interval (memory.oom_control's
// "oom_kill" on v1/hybrid, memory.events' "oom_kill" on v2) -- and reports increases. Latency
// is at most one interval (default 250 ms); the timer is unref'd and does not keep Node alive.
// Polling stops by itself when the cgroup disappears.
import type { CgroupManager } from './manager.js';

export interface OomEvent {
  /** New OOM kills since the previous report. */
  count: number;
  /** OOM kills in the cgroup's lifetime. */
  total: number;
}

export interface OomWatch {
  stop(): void;
}

type Counter = CgroupManager & { oomKillCount?: () => number };

function readCount(m: Counter): number {
  return m.oomKillCount ? m.oomKillCount() : (m.stats().memory?.oomKills ?? 0);
}

export function oomEvents(manager: CgroupManager, onOom: (e: OomEvent) => void, opts: { intervalMs?: number } = {}): OomWatch {
  const m = manager as Counter;
  let last = readCount(m);
  let misses = 0;
  const timer = setInterval(() => {
    let now: number;
    try {
      now = readCount(m);
    } catch {
      clearInterval(timer);
      return;
    }
    // A vanished cgroup reads as 0; stop after a few such reads.
    if (now === 0 && last > 0 && ++misses > 3) {
      clearInterval(timer);
      return;
    }
    if (now > last) {
      const count = now - last;
      last = now;
      onOom({ count, total: now });
    }
  }, opts.intervalMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
