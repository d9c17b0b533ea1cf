// Runs berth-shim for `exec` with the caller's choice of stdio: inherited (the CLI; the shim
// proxies a terminal itself) or pipes (the library's streams).
//
// A shim can be started before its plan is known (startShim): it execs itself, re-executes from
// its sealed copy and then waits for the plan on fd 3, which overlaps the caller's own work
// (the CLI opens the store and finds the container meanwhile).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { SHIM_PATH, signalNumber } from '../runtime/launch.js';
import { launchError, type EngineError } from './errors.js';

export interface ShimRun {
  pid: number;
  shim: ChildProcess;
  /** The exit status of the process (128+n for a signal); 0 at once for a detached exec. */
  exit: Promise<number>;
  /** The same status, once piped stdout and stderr have ended too (all the output was read). */
  closed: Promise<number>;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** A terminal proxied to pipes (started with sizeFd): sets its size (the process gets SIGWINCH). */
  resize?: (rows: number, cols: number) => void;
}

/** The shim's fd for terminal sizes when its stdio is piped (the plan's CONSOLE_SIZE_FD). */
export const SIZE_FD = 4;

export type Stdio = 'inherit' | 'pipe' | 'ignore';

/** A shim waiting for its plan. */
export interface PendingShim {
  /** The stdio it was started with (the plan's caller must want the same). */
  readonly stdio: Stdio | [Stdio, Stdio, Stdio];
  /** Sends the plan; resolves once the process is about to exec (READY). */
  run(plan: Buffer): Promise<ShimRun>;
  /** Ends a shim that will get no plan (it has done nothing yet). */
  abort(): void;
}

/** o.sizeFd: a socket at SIZE_FD too, for the sizes of a terminal proxied to pipes. */
export function startShim(stdio: Stdio | [Stdio, Stdio, Stdio], o: { sizeFd?: boolean } = {}): PendingShim {
  const s = Array.isArray(stdio) ? stdio : [stdio, stdio, stdio];
  const shim = spawn(SHIM_PATH, ['3'], { stdio: [...s, 'pipe', ...(o.sizeFd ? ['pipe' as const] : [])], detached: true });
  const sizes = o.sizeFd ? (shim.stdio[SIZE_FD] as Socket) : undefined;
  // read to its end, so it closes with the shim (its 'close' is among the child's)
  sizes?.on('error', () => {}).resume();
  const resize = sizes ? (rows: number, cols: number) => void (!sizes.destroyed && sizes.write(`${rows} ${cols}\n`)) : undefined;
  const status = (code: number | null, sig: NodeJS.Signals | null) => code ?? 128 + (sig ? signalNumber(sig) : 0);
  const exit = new Promise<number>((res) => {
    shim.once('exit', (code, sig) => res(status(code, sig)));
    shim.once('error', () => res(125));
  });
  // 'exit' can come before the last output is read from piped stdout/stderr; 'close' comes
  // after both ended (what the process left in the background may hold them open longer)
  const closed = new Promise<number>((res) => {
    shim.once('close', (code, sig) => res(status(code, sig)));
    shim.once('error', () => res(125));
  });
  const sock = shim.stdio[3] as Socket;
  const ready = new Promise<ShimRun>((resolve, reject) => {
    let pid = 0;
    let buf = '';
    let done = false;
    const fail = (e: EngineError) => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(e);
    };
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('PID ')) pid = Number(line.slice(4));
        else if (line === 'READY') {
          done = true;
          sock.destroy();
          resolve({ pid, shim, exit, closed, stdin: shim.stdin, stdout: shim.stdout, stderr: shim.stderr, ...(resize ? { resize } : {}) });
        } else if (line.startsWith('ERR ')) fail(launchError(line.slice(4)));
      }
    });
    sock.on('close', () => fail(launchError('the process exited during setup')));
  });
  ready.catch(() => {}); // an aborted shim's rejection is nobody's error
  return {
    stdio,
    run(plan) {
      sock.write(plan);
      return ready;
    },
    abort() {
      sock.destroy();
      sizes?.destroy();
      shim.kill('SIGKILL');
    },
  };
}

export function runShim(plan: Buffer, stdio: Stdio | [Stdio, Stdio, Stdio], o: { sizeFd?: boolean } = {}): Promise<ShimRun> {
  return startShim(stdio, o).run(plan);
}
