// The library's exec (`berth.exec`, docker's POST /containers/{id}/exec + /exec/{id}/start):
// the process's stdio as Node streams or collected, with a terminal (tty) like `berth exec -it`:
// the shim proxies the pty to pipes (engine exec, native/berth-shim.c CONSOLE_PROXY) and the
// handle's resize() (docker's POST /exec/{id}/resize) sends it the size.
import { PassThrough, Readable, type Writable } from 'node:stream';
import type { Engine, ExecOptions } from './engine/engine.js';
import { EngineError } from './engine/errors.js';
import type { ShimRun } from './engine/shim.js';
import { checkSize, keysFor, type TerminalSize } from './library-attach.js';
import { detachScanner } from './util/detach-scanner.js';

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
  /**
   * With tty: docker's detach keys (default "ctrl-p,ctrl-q"; "ctrl-x,y", "a,b"): seen in stdin,
   * they end the handle with `detached: true` and leave the process running, as docker's exec.
   */
  detachKeys?: string;
}

export interface ExecResult {
  /** Its exit status; absent when the detach keys ended the exec (the process runs on). */
  exitCode?: number;
  /** True when the detach keys in stdin ended it before the process exited. */
  detached?: boolean;
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

/** Output to a caller's stream, or collected (run, exec). */
export function sink(w: Writable | undefined, chunks: Buffer[]): (d: Buffer) => void {
  return w ? (d) => void w.write(d) : (d) => void chunks.push(d);
}

/**
 * Pipes a stream, string or buffer into the process's stdin; at its end, an EOF at the terminal
 * (tty) and the end. With detach keys: stops at them (the caller's stream is left paused, not
 * destroyed) and calls onDetach.
 */
function feed(stdin: Readable | string | Buffer, to: Writable, tty: boolean, keys: number[], onDetach: () => void): void {
  const scan = keys.length ? detachScanner(keys) : undefined;
  const stream = typeof stdin === 'string' || Buffer.isBuffer(stdin) ? undefined : stdin;
  let stopped = false;
  const onData = (c: Buffer | string) => {
    if (stopped) return;
    const d = Buffer.from(c);
    const r = scan ? scan(d) : { forward: d, detach: false };
    if (r.forward.length) to.write(r.forward);
    if (!r.detach) return;
    stopped = true;
    stream?.off('data', onData).pause();
    to.end(); // no ctrl-D: the process keeps its terminal as it is
    onDetach();
  };
  const onEnd = () => {
    if (stopped) return;
    // a pty has no end of its input: ctrl-D is how a program at a terminal hears it
    if (tty) to.write(CTRL_D);
    to.end();
  };
  if (!stream) {
    onData(Buffer.from(stdin as string | Buffer));
    return onEnd();
  }
  stream.on('error', () => {}); // a failed input leaves stdin open, as before
  stream.on('data', onData).once('end', onEnd);
}

/** Checks exec's options where they enter (the engine checks the rest). */
function checks(o: BerthExecOptions): void {
  if (o.size) {
    if (!o.tty) throw new EngineError('invalid', 'invalid size: a terminal size needs tty: true');
    checkSize(o.size.rows, o.size.cols);
  }
  if (o.tty && o.detach) throw new EngineError('invalid', 'invalid tty with detach: a detached exec has no terminal to attach later (drop one of them)');
  if (o.detachKeys !== undefined && !o.tty) throw new EngineError('invalid', 'invalid detachKeys without tty: an exec detaches only from a terminal (add tty: true)');
  if (o.detachKeys !== undefined) keysFor(true, o.detachKeys); // parsed here: a bad one is an error before anything runs
}

async function pump(o: BerthExecOptions, run: Promise<ShimRun>, input: Readable | string | Buffer | undefined): Promise<ExecResult> {
  const { stdout, stderr, signal } = o;
  const r = await run;
  if (o.detach) return { exitCode: 0 };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  r.stdout?.on('data', sink(stdout, out));
  r.stderr?.on('data', sink(stderr, err));
  let detach!: () => void;
  const detached = new Promise<'detached'>((res) => (detach = () => res('detached')));
  if (input !== undefined && r.stdin) {
    r.stdin.on('error', () => {}); // the process may exit before reading it all (EPIPE)
    // detach keys only with a terminal (docker's escape proxy too): the pty keeps the process
    // alive once nobody reads it (the shim drains it to /dev/null)
    feed(input, r.stdin, !!o.tty, o.tty ? keysFor(true, o.detachKeys) : [], detach);
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
  const ended = await Promise.race([r.closed, detached]);
  signal?.removeEventListener('abort', onAbort);
  const collected = { ...(stdout ? {} : { stdout: Buffer.concat(out).toString() }), ...(stderr ? {} : { stderr: Buffer.concat(err).toString() }) };
  if (ended === 'detached') {
    // let go of it: its output unread (the shim then drains the pty), this process free to exit
    r.stdout?.destroy();
    r.stderr?.destroy();
    r.shim.unref();
    for (const s of r.shim.stdio.slice(3)) (s as { destroy?: () => void } | null)?.destroy?.();
    return { detached: true, ...collected };
  }
  return { exitCode: ended, ...collected };
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
