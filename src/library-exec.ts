// The library's exec (`berth.exec`, docker's POST /containers/{id}/exec + /exec/{id}/start):
// the process's stdio as Node streams or collected, with a terminal (tty) like `berth exec -it`:
// the shim proxies the pty to pipes (engine exec, native/berth-shim.c CONSOLE_PROXY) and the
// handle's resize() (docker's POST /exec/{id}/resize) sends it the size.
import { PassThrough, Readable, type Writable } from 'node:stream';
import type { Engine, ExecOptions } from './engine/engine.js';
import { EngineError } from './engine/errors.js';
import type { ShimRun } from './engine/shim.js';
import { checkSize, type TerminalSize } from './library-attach.js';

// shim and cgroupProcs are the engine's internals (the CLI's early shim, health probes)
export interface BerthExecOptions extends Omit<ExecOptions, 'stdio' | 'shim' | 'cgroupProcs' | 'size'> {
  /** Fed to the process's stdin; its end closes stdin (with tty: an end of file, ctrl-D, is typed first). */
  stdin?: Readable | string | Buffer;
  /** Keep stdin open without a `stdin` stream: write to the handle's `stdin`. */
  interactive?: boolean;
  /** Where the output goes (default: collected into the result). With tty, all of it is on stdout. */
  stdout?: Writable;
  stderr?: Writable;
  /** A terminal for the process (as `exec -t`): stdin, stdout and stderr are its pty. */
  tty?: boolean;
  /** With tty: the terminal's size to start with (later: the handle's resize). */
  size?: TerminalSize;
  /** Aborting kills the process (SIGKILL). */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** Collected output when no stdout/stderr stream was given. */
  stdout?: string;
  stderr?: string;
}

/** What exec returns: the result's promise, the terminal's size to change, and stdin to write to (interactive). */
export type ExecHandle = Promise<ExecResult> & {
  /** Sets the terminal's size (docker's POST /exec/{id}/resize); before the process is up, it is set once it is. */
  resize(rows: number, cols: number): void;
  /** With `interactive` and no `stdin` stream: the process's stdin (its end closes it). */
  stdin?: Writable;
};

const CTRL_D = Buffer.from([4]);

function sink(w: Writable | undefined, chunks: Buffer[]): (d: Buffer) => void {
  return w ? (d) => void w.write(d) : (d) => void chunks.push(d);
}

/** Pipes a stream, string or buffer into the process's stdin; at its end, an EOF at the terminal (tty) and the end. */
async function feed(stdin: Readable | string | Buffer, to: Writable, tty: boolean): Promise<void> {
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) to.write(Buffer.from(stdin));
  else for await (const chunk of stdin) to.write(Buffer.from(chunk as Buffer));
  // a pty has no end of its input: ctrl-D is how a program at a terminal hears it
  if (tty) to.write(CTRL_D);
  to.end();
}

/** Checks exec's options where they enter (the engine checks the rest). */
function checks(o: BerthExecOptions): void {
  if (o.size) {
    if (!o.tty) throw new EngineError('invalid', 'invalid size: a terminal size needs tty: true');
    checkSize(o.size.rows, o.size.cols);
  }
  if (o.tty && o.detach) throw new EngineError('invalid', 'invalid tty with detach: a detached exec has no terminal to attach later (drop one of them)');
}

async function pump(o: BerthExecOptions, run: Promise<ShimRun>, input: Readable | string | Buffer | undefined): Promise<ExecResult> {
  const { stdout, stderr, signal } = o;
  const r = await run;
  if (o.detach) return { exitCode: 0 };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  r.stdout?.on('data', sink(stdout, out));
  r.stderr?.on('data', sink(stderr, err));
  if (input !== undefined && r.stdin) {
    r.stdin.on('error', () => {}); // the process may exit before reading it all (EPIPE)
    void feed(input, r.stdin, !!o.tty).catch(() => {});
  }
  const onAbort = () => {
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    // what it left in the background may hold the pipes: stop reading
    r.stdout?.destroy();
    r.stderr?.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  // once the output is all read, not at the process's exit (its last output could be lost)
  const exitCode = await r.closed;
  signal?.removeEventListener('abort', onAbort);
  return { exitCode, ...(stdout ? {} : { stdout: Buffer.concat(out).toString() }), ...(stderr ? {} : { stderr: Buffer.concat(err).toString() }) };
}

/** `berth.exec`: runs a command in a running container; the handle resolves with its status. */
export function execHandle(engine: Engine, id: string, o: BerthExecOptions): ExecHandle {
  const { stdin, stdout: _o, stderr: _e, signal, interactive, size, ...rest } = o;
  const fail = (e: unknown) => Object.assign(Promise.reject(e), { resize: () => {} }) as ExecHandle;
  try {
    checks(o);
    signal?.throwIfAborted();
  } catch (e) {
    return fail(e);
  }
  // interactive without a stream: the handle's own stdin, fed to the process once it runs
  const own = stdin === undefined && interactive ? new PassThrough() : undefined;
  const input = stdin ?? own;
  const started = engine.exec(id, { ...rest, ...(size ? { size } : {}), stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let shim: ShimRun | undefined;
  let pending: TerminalSize | undefined;
  void started.then((r) => {
    shim = r;
    if (pending) r.resize?.(pending.rows, pending.cols);
  }, () => {});
  const result = pump(o, started, input);
  return Object.assign(result, {
    resize(rows: number, cols: number): void {
      if (!o.tty) throw new EngineError('conflict', 'this exec has no terminal: its size cannot be set (run it with tty: true)');
      checkSize(rows, cols);
      if (!shim) pending = { rows, cols };
      else shim.resize?.(rows, cols);
    },
    ...(own ? { stdin: own } : {}),
  });
}
