// Starts berth-shim with a compiled plan and speaks its line protocol on the sync socket:
// shim -> berth: "PID n", "HOOKS", "READY", "ERR text"; berth -> shim: "GO <state json>" / "NO".
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { RuntimeError } from './errors.js';

export const SHIM_PATH = fileURLToPath(new URL('../../berth-shim', import.meta.url));

export interface LaunchOptions {
  /** fds 3..3+preserveFds-1 of this process are passed on to the container. */
  preserveFds?: number;
  /** Called on "HOOKS" with the init's pid; returns the state JSON for in-container hooks. */
  onHooks?: (pid: number) => Promise<string>;
  /** Called as soon as the init's pid is known. */
  onPid?: (pid: number) => void;
}

export interface Launched {
  pid: number;
  shim: ChildProcess;
  /** The shim's exit: in wait mode, the container's status (128+n for a signal). */
  exit: Promise<number>;
}

export function launch(plan: Buffer, opts: LaunchOptions = {}): Promise<Launched> {
  const n = opts.preserveFds ?? 0;
  const stdio: (number | 'pipe' | 'inherit')[] = ['inherit', 'inherit', 'inherit'];
  for (let i = 0; i < n; i++) stdio.push(3 + i);
  stdio.push('pipe');
  // detached: the shim gets its own session, so terminal signals reach the container once
  // (through our forwarding), not once per process of the chain.
  const shim = spawn(SHIM_PATH, [String(3 + n)], { stdio, detached: true });
  const exit = new Promise<number>((res) => {
    shim.once('exit', (code, sig) => res(code ?? 128 + (sig ? signalNumber(sig) : 0)));
    shim.once('error', () => res(125));
  });
  const sock = shim.stdio[3 + n] as Socket;
  sock.write(plan);
  return new Promise<Launched>((resolve, reject) => {
    let pid = 0;
    let buf = '';
    let done = false;
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(Object.assign(new RuntimeError(msg), { pid }));
    };
    shim.once('error', (e) => fail(`cannot start berth-shim (${SHIM_PATH}): ${e.message}; run "npm run build"`));
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('PID ')) {
          pid = Number(line.slice(4));
          opts.onPid?.(pid);
        } else if (line === 'HOOKS') {
          const run = opts.onHooks ? opts.onHooks(pid) : Promise.resolve('{}');
          run.then(
            (state) => sock.write(`GO ${state.replace(/\n/g, ' ')}\n`),
            (e: Error) => {
              sock.write('NO\n');
              fail(e.message);
            },
          );
        } else if (line === 'READY') {
          done = true;
          sock.destroy();
          resolve({ pid, shim, exit });
        } else if (line.startsWith('ERR ')) {
          fail(line.slice(4));
        }
      }
    });
    sock.on('close', () => fail('container init exited during setup'));
  });
}

/** Relays the signals a foreground CLI receives to the container process; returns the undo. */
export function forwardSignals(pid: number): () => void {
  const fwd = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* the process is gone */
    }
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of sigs) process.on(s, fwd);
  return () => {
    for (const s of sigs) process.off(s, fwd);
  };
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

export function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 0;
}

/** Parses "TERM", "SIGTERM", "15" or "SIGRTMIN+3" into a signal number; null when unknown. */
export function parseSignal(s: string): number | null {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= 64 ? n : null;
  }
  const up = s.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  if (SIGNALS[name] !== undefined) return SIGNALS[name]!;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? 34 + off : 64 - off;
    return n >= 34 && n <= 64 ? n : null;
  }
  return null;
}

export const SIGNAL_NAMES = Object.keys(SIGNALS);
