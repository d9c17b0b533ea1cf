// Cross-process locks as lock files: the lock is created complete (a temp file holding
// "pid starttime", hard-linked to the lock path, which fails atomically when it exists) and
// removed on release. A lock whose owner died (kill -9, crash) is stale: the next waiter breaks
// it, under a short-lived ".break" lock so that two waiters cannot both break and one of them
// delete a fresh lock. Node has no flock(2); this needs nothing beyond link(2) and kill(pid, 0).
import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { errno, rmQuiet } from './fsutil.js';
import { system } from './errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let me: string | undefined;
const owner = () => (me ??= `${process.pid} ${startTime(process.pid) ?? '0'}\n`);

/** True while the process that wrote `content` still runs (same pid and start time). */
export function ownerAlive(content: string): boolean {
  const [pid, start] = content.trim().split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return false;
  try {
    process.kill(n, 0);
  } catch (e) {
    if (errno(e) !== 'EPERM') return false;
  }
  return start === undefined || start === '0' || startTime(n) === start;
}

let seq = 0;

/** One attempt: true when the lock is now ours. Breaks a stale lock it finds. */
export function tryLock(path: string): boolean {
  const tmp = `${path}.${process.pid}.${seq++}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, owner());
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  } finally {
    rmQuiet(tmp);
  }
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return false; // released meanwhile: retry
    throw e;
  }
  if (!ownerAlive(content)) breakStale(path, content);
  return false;
}

function breakStale(path: string, seen: string): void {
  const breaker = `${path}.break`;
  let fd: number;
  try {
    fd = openSync(breaker, 'wx');
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
    // A breaker that died mid-break leaves this behind; it is only ever held for microseconds.
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 5000) rmQuiet(breaker);
    } catch {
      /* gone */
    }
    return;
  }
  try {
    if (readFileSync(path, 'utf8') === seen) unlinkSync(path);
  } catch {
    /* released or broken by someone else */
  } finally {
    closeSync(fd);
    rmQuiet(breaker);
  }
}

export function unlock(path: string): void {
  rmQuiet(path);
}

const TIMEOUT = 60_000;
// Critical sections last a few ms (the busiest, the default network's, holds an IPAM rewrite):
// a waiter that backed off to 20 ms slept long after the lock was free (a parallel start on
// berth0 cost the next one 5-15 ms). A try is four syscalls, so polling every 4 ms is cheap.
const MAX_WAIT_MS = 4;

/** Runs fn holding the lock (blocking the thread while waiting: for short critical sections). */
export function withLockSync<T>(path: string, fn: () => T, timeoutMs = TIMEOUT): T {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 0.25; !tryLock(path); wait = Math.min(wait * 2, MAX_WAIT_MS)) {
    if (Date.now() > deadline) throw system(`timed out after ${timeoutMs} ms waiting for the lock ${path} (held by pid ${holder(path)})`);
    sleepSync(wait);
  }
  try {
    return fn();
  } finally {
    unlock(path);
  }
}

/** Runs an async fn holding the lock; waits without blocking the event loop. */
export async function withLock<T>(path: string, fn: () => Promise<T> | T, timeoutMs = TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !tryLock(path); wait = Math.min(wait * 2, MAX_WAIT_MS)) {
    if (Date.now() > deadline) throw system(`timed out after ${timeoutMs} ms waiting for the lock ${path} (held by pid ${holder(path)})`);
    await sleep(wait);
  }
  try {
    return await fn();
  } finally {
    unlock(path);
  }
}

function holder(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split(' ')[0] ?? '?';
  } catch {
    return '?';
  }
}
