// The door to the syscalls Node lacks: `berth-shim storage serve` (native/berth-storage.c) makes
// device nodes and fifos (mknod), reads and writes extended attributes without following
// symlinks, and mounts overlays through the new mount API (fsopen/fsconfig "lowerdir+"). One
// long-lived helper process answers requests in order over a pipe; it does not keep Node alive
// while idle. A mount through it costs the syscalls only (no process start on the hot path).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { StorageError } from './errors.js';

/** dist/berth-shim, from dist/src/storage/helper.js (the same two levels as the runtime). */
export const STORAGE_HELPER = fileURLToPath(new URL('../../berth-shim', import.meta.url));

// built on first use: reading os.constants at import loads node:os for every CLI command
let errnoMap: Map<number, string> | undefined;
const errnoNames = { get: (n: number) => (errnoMap ??= new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]))).get(n) };

/** An error from the helper, carrying the errno name as `code` like Node's fs errors. */
export class HelperError extends Error {
  constructor(
    readonly code: string,
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

const hex = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('hex');

export class FsHelper {
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: { resolve: (fields: string[]) => void; reject: (e: Error) => void; what: string }[] = [];
  private buf = '';

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(STORAGE_HELPER, ['storage', 'serve'], { stdio: ['pipe', 'pipe', 'ignore'] as const }) as unknown as ChildProcessWithoutNullStreams;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const p = this.pending.shift();
        if (this.pending.length === 0) this.setRef(false);
        if (!p) continue;
        const f = line.split(' ');
        if (f[0] === 'OK') p.resolve(f.slice(1));
        else {
          const errno = Number(f[1] ?? 0);
          const code = errnoNames.get(errno) ?? `E${errno}`;
          const msg = f[2] ? Buffer.from(f[2], 'hex').toString('utf8') : '';
          p.reject(new HelperError(code, errno, `${p.what}: ${msg || code}`));
        }
      }
    });
    const fail = (e: Error) => {
      if (this.child === child) this.child = undefined;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    child.on('error', (e) => fail(new StorageError('UNSUPPORTED', `cannot start the storage helper (${STORAGE_HELPER}): ${e.message}; run "npm run build"`)));
    child.on('exit', () => fail(new StorageError('IO', 'the storage helper exited')));
    child.stdin.on('error', () => {});
    this.child = child;
    return child;
  }

  /** The helper keeps Node's event loop alive only while a request is out. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c.stdin, c.stdout] as unknown as Socket[]) (on ? s.ref : s.unref)?.call(s);
    if (on) c.ref();
    else c.unref();
  }

  private request(fields: string[], what: string): Promise<string[]> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, what });
      if (this.pending.length === 1) this.setRef(true);
      child.stdin.write(fields.join(' ') + '\n');
    });
  }

  /** mknod(2): mode carries the file type (fs.constants.S_IFCHR, S_IFIFO, ...). */
  async mknod(path: string, mode: number, major = 0, minor = 0): Promise<void> {
    await this.request(['mknod', hex(path), String(mode), String(major), String(minor)], `mknod ${path}`);
  }

  /** lsetxattr(2). */
  async setXattr(path: string, name: string, value: Buffer | string): Promise<void> {
    await this.request(['setx', hex(path), hex(name), hex(value)], `set xattr ${name} on ${path}`);
  }

  /** Every extended attribute of path (not following a symlink). */
  async getXattrs(path: string): Promise<Map<string, Buffer>> {
    const f = await this.request(['getx', hex(path)], `read xattrs of ${path}`);
    const out = new Map<string, Buffer>();
    for (let i = 0; i + 1 < f.length; i += 2) out.set(Buffer.from(f[i]!, 'hex').toString('utf8'), Buffer.from(f[i + 1]!, 'hex'));
    return out;
  }

  /**
   * Mounts an overlay on target. Paths may be relative to dir (kept short: the classic mount(2)
   * fallback must fit in a page). lowers are top first; options are "key=value" or flags.
   */
  async mountOverlay(dir: string, target: string, lowers: string[], options: string[]): Promise<void> {
    await this.request(['mount', hex(dir), hex(target), hex(options.join(',')), ...lowers.map(hex)], `mount overlay on ${target}`);
  }

  /** umount2(target), lazily (MNT_DETACH) when detach. */
  async unmount(target: string, detach = false): Promise<void> {
    await this.request(['umount', hex(target), detach ? '2' : '0'], `unmount ${target}`);
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}

let shared: FsHelper | undefined;

/** One helper for the process (mounts on the hot path); never closed, never keeps Node alive. */
export function sharedHelper(): FsHelper {
  return (shared ??= new FsHelper());
}

export function mountOverlay(dir: string, target: string, lowers: string[], options: string[]): Promise<void> {
  return sharedHelper().mountOverlay(dir, target, lowers, options);
}

export function unmount(target: string, detach = false): Promise<void> {
  return sharedHelper().unmount(target, detach);
}
