// The library's attach (`berth.attach`, `berth.start(id, { attach: true })`) and live stats
// (`berth.stats(id, { stream: true })`): an engine AttachClient pumped to and from Node streams,
// ended by the container's exit, the detach keys or an AbortSignal.
import { Readable, type Writable } from 'node:stream';
import type { ContainerStats, Engine } from './engine/engine.js';
import { conflict, EngineError, isEngineError } from './engine/errors.js';
import { AttachClient, frame, FRAME } from './engine/monitor.js';
import type { ContainerRecord } from './engine/types.js';
import { isLive } from './engine/state.js';
import { detachKeyBytes, detachScanner } from './util/detach-scanner.js';

export interface AttachOptions {
  /** Fed to the container's stdin (it must have been created with `interactive`); its end closes stdin. */
  stdin?: Readable | string | Buffer;
  /** Where the container's output goes (default: collected into the result). */
  stdout?: Writable;
  stderr?: Writable;
  /**
   * docker's --detach-keys ("ctrl-p,ctrl-q", "ctrl-x", "a,b"): seen in stdin, they detach and the
   * container keeps running. Default: "ctrl-p,ctrl-q" for a container with a terminal, else none.
   */
  detachKeys?: string;
  /** Aborting detaches (the container keeps running; stop it with kill/stop). */
  signal?: AbortSignal;
  /** The terminal size to set as the attach begins (a container with tty); later ones: the handle's resize. */
  size?: TerminalSize;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

/** What attach returns: the result's promise, and the terminal's size to change meanwhile. */
export type AttachHandle = Promise<AttachResult> & {
  /** Sets the container's terminal size (docker's POST /containers/{id}/resize); before the connection is up, it is sent once it is. */
  resize(rows: number, cols: number): void;
};

export interface AttachResult {
  /** The container's exit status; undefined when detached. */
  exitCode?: number;
  /** True when the detach keys or the signal ended the attach before the container exited. */
  detached: boolean;
  /** Collected output when no stdout/stderr stream was given. */
  stdout?: string;
  stderr?: string;
}

export interface StatsOptions {
  /** Samples until the container stops or the signal aborts (like `docker stats`); default false: one sample. */
  stream?: boolean;
  signal?: AbortSignal;
  /** The time each sample's CPU % is measured over (default 500 ms); > 0. */
  intervalMs?: number;
}

/** Parses docker's --detach-keys into bytes; throws an 'invalid' EngineError naming the field. */
export function parseDetachKeys(spec: string): number[] {
  const keys = detachKeyBytes(spec);
  if (!keys) throw new EngineError('invalid', `invalid detachKeys "${spec}": use keys like "ctrl-p,ctrl-q", "ctrl-x" or "a,b" (ctrl-<a-z@[\\]^_> or single characters, comma separated)`);
  return keys;
}

/**
 * Pumps an attach connection to Node streams until the container exits, the detach keys are
 * typed or the signal aborts. The connection is closed when this returns.
 */
export async function pumpAttach(engine: Engine, id: string, a: AttachClient, o: AttachOptions & { keys: number[] }): Promise<AttachResult> {
  a.ref();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  a.on('stdout', o.stdout ? (d: Buffer) => void o.stdout!.write(d) : (d: Buffer) => void out.push(d));
  a.on('stderr', o.stderr ? (d: Buffer) => void o.stderr!.write(d) : (d: Buffer) => void err.push(d));
  let detached = false;
  const detach = () => {
    detached = true;
    a.close();
  };
  const done = new Promise<number | undefined>((res) => {
    a.once('exit', (c: number) => res(c));
    a.once('close', () => res(detached ? undefined : a.exitStatus ?? -1));
  });
  o.signal?.addEventListener('abort', detach, { once: true });
  if (o.signal?.aborted) detach();
  let stdin: Readable | undefined;
  if (o.stdin !== undefined && !detached) {
    stdin = typeof o.stdin === 'string' || Buffer.isBuffer(o.stdin) ? Readable.from([Buffer.from(o.stdin)]) : o.stdin;
    const scan = o.keys.length ? detachScanner(o.keys) : undefined;
    const onData = (c: Buffer | string) => {
      if (detached) return;
      const d = Buffer.from(c);
      if (!scan) return a.write(d);
      const r = scan(d);
      if (r.forward.length) a.write(r.forward);
      if (r.detach) detach();
    };
    stdin.on('data', onData);
    stdin.once('end', () => void (!detached && a.endStdin()));
    stdin.on('error', () => {});
    void done.then(() => stdin!.off('data', onData));
  }
  let code = await done;
  o.signal?.removeEventListener('abort', detach);
  a.close();
  if (!detached) {
    // until its exit is recorded (and an autoRemove container removed): a remove or inspect
    // right after must see it stopped, as after docker's attach
    const final = await engine.wait(id).catch(() => code ?? -1);
    if (code === undefined || code < 0) code = final;
  }
  return {
    detached,
    ...(detached ? {} : { exitCode: code }),
    ...(o.stdout ? {} : { stdout: Buffer.concat(out).toString() }),
    ...(o.stderr ? {} : { stderr: Buffer.concat(err).toString() }),
  };
}

/** The detach keys for a container: the given ones, or docker's default when it has a terminal. */
export function keysFor(tty: boolean, spec: string | undefined): number[] {
  if (spec !== undefined) return parseDetachKeys(spec);
  return tty ? parseDetachKeys('ctrl-p,ctrl-q') : [];
}

/** Live samples, one per interval, until the container stops (or is removed) or the signal aborts. */
export function statsStream(engine: Engine, id: string, o: StatsOptions): Readable {
  const interval = o.intervalMs ?? 500;
  async function* samples(): AsyncGenerator<ContainerStats> {
    const signal = o.signal;
    while (!signal?.aborted) {
      let s: ContainerStats;
      try {
        if (!isLive(engine.get(id).state)) return;
        s = await engine.stats(id, interval);
      } catch (e) {
        if (isEngineError(e, 'notfound')) return; // removed meanwhile
        throw e;
      }
      if (signal?.aborted) return;
      yield s;
    }
  }
  return Readable.from(samples(), { objectMode: true });
}

/** Checks stats' options where they enter. */
export function checkStatsOptions(o: StatsOptions): void {
  if (o.intervalMs !== undefined && !(Number.isFinite(o.intervalMs) && o.intervalMs > 0)) {
    throw new EngineError('invalid', `invalid intervalMs ${o.intervalMs}: give a number of milliseconds > 0`);
  }
}

// ---------------------------------------------------------------- terminal size

/** Checks a terminal size where it enters: whole numbers 1-65535 (what TIOCSWINSZ holds). */
export function checkSize(rows: number, cols: number): void {
  for (const [field, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new EngineError('invalid', `invalid terminal size: ${field} ${v}: give a whole number from 1 to 65535`);
  }
}

/** Only a container with a terminal has a size to set (docker refuses the others too). */
export function checkTty(rec: ContainerRecord): void {
  if (!rec.config.Tty) throw conflict(`container ${rec.id} has no terminal: its size cannot be set (create it with tty: true)`);
}

/**
 * Wraps an attach as its handle: resize() goes to the monitor over the attach connection (before
 * it is up, the last size waits for it). A bad starting size rejects the handle before connect
 * is called (no connection left open).
 */
export function attachHandle(rec: ContainerRecord, connect: () => Promise<AttachClient>, pump: (a: AttachClient) => Promise<AttachResult>, size?: TerminalSize): AttachHandle {
  try {
    if (size) {
      checkTty(rec);
      checkSize(size.rows, size.cols);
    }
  } catch (e) {
    return Object.assign(Promise.reject(e), { resize: () => {} }) as AttachHandle;
  }
  let client: AttachClient | undefined;
  let pending: TerminalSize | undefined = size;
  const result = connect().then((a) => {
    client = a;
    if (pending) a.resize(pending.rows, pending.cols);
    return pump(a);
  });
  return Object.assign(result, {
    resize(rows: number, cols: number): void {
      checkTty(rec);
      checkSize(rows, cols);
      if (!client) pending = { rows, cols };
      else if (!client.socket.destroyed) client.resize(rows, cols);
    },
  });
}

/**
 * `berth.resize(id, { rows, cols })`, docker's POST /containers/{id}/resize: a connection to the
 * container's monitor that sends the size and hangs up (the monitor sets it on the pty master,
 * and the container gets SIGWINCH).
 */
export async function resizeContainer(engine: Engine, id: string, size: TerminalSize): Promise<void> {
  checkSize(size.rows, size.cols);
  const rec = engine.get(id);
  checkTty(rec);
  if (!isLive(rec.state)) throw conflict(`Container ${rec.id} is not running`);
  const a = await AttachClient.connect(engine.paths.stateDir(rec.id)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') throw conflict(`Container ${rec.id} is not running`);
    throw e;
  });
  // once the frame is in the socket, the monitor reads it even after this side is closed
  await new Promise<void>((res) => {
    a.socket.write(frameOf(size), () => res());
    a.socket.once('close', () => res());
  });
  a.close();
}

const frameOf = (size: TerminalSize): Buffer => {
  const p = Buffer.alloc(4);
  p.writeUInt16BE(size.rows, 0);
  p.writeUInt16BE(size.cols, 2);
  return frame(FRAME.resize, p);
};
