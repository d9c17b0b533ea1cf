// Runs berth-shim for `exec` with the caller's choice of stdio: inherited (the CLI; the shim
// proxies a terminal itself) or pipes (the library's streams).
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
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

export type Stdio = 'inherit' | 'pipe' | 'ignore';

export function runShim(plan: Buffer, stdio: Stdio | [Stdio, Stdio, Stdio]): Promise<ShimRun> {
  const s = Array.isArray(stdio) ? stdio : [stdio, stdio, stdio];
  const shim = spawn(SHIM_PATH, ['3'], { stdio: [...s, 'pipe'], detached: true });
  const exit = new Promise<number>((res) => {
    shim.once('exit', (code, sig) => res(code ?? 128 + (sig ? signalNumber(sig) : 0)));
    shim.once('error', () => res(125));
  });
  const sock = shim.stdio[3] as Socket;
  sock.write(plan);
  return new Promise((resolve, reject) => {
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
          resolve({ pid, shim, exit, stdin: shim.stdin, stdout: shim.stdout, stderr: shim.stderr });
        } else if (line.startsWith('ERR ')) fail(launchError(line.slice(4)));
      }
    });
    sock.on('close', () => fail(launchError('the process exited during setup')));
  });
}
