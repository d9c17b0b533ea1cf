// Cross-process locks on abstract unix sockets: binding "\0berth-lock/<hash of the path>" is
// exclusive in the kernel and released when the holder exits, even by kill -9, so a crash
// leaves no stale lock file to break. (Abstract sockets are per network namespace: every berth
// process that shares a store must run in the host's.)
import { createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { ImageError } from './errors.js';

export type Release = () => Promise<void>;

function socketName(path: string): string {
  return `\0berth-lock/${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 40)}`;
}

function tryBind(name: string): Promise<Server | undefined> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    const onError = (e: NodeJS.ErrnoException): void => {
      srv.removeListener('listening', onListening);
      if (e.code === 'EADDRINUSE') res(undefined);
      else rej(e);
    };
    const onListening = (): void => {
      srv.removeListener('error', onError);
      res(srv);
    };
    srv.once('error', onError);
    srv.once('listening', onListening);
    srv.listen(name);
  });
}

/** Tries once; returns a release function, or undefined when someone else holds the lock. */
export async function tryLock(path: string): Promise<Release | undefined> {
  const srv = await tryBind(socketName(path));
  if (!srv) return undefined;
  let released = false;
  return () => {
    if (released) return Promise.resolve();
    released = true;
    return new Promise<void>((r) => srv.close(() => r()));
  };
}

/** Waits for the lock named by `path` (no file is created) and returns its release function. */
export async function lock(path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Release> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60 * 1000);
  let wait = 5;
  for (;;) {
    const release = await tryLock(path);
    if (release) return release;
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) throw new ImageError(`timed out waiting for the lock on ${path}`, 'lock_timeout');
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 100);
  }
}

/** Runs fn while holding the lock. */
export async function withLock<T>(path: string, fn: () => Promise<T> | T, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const release = await lock(path, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
