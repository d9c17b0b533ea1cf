// berth as a library: `import { Berth } from 'berth'`. The same operations as the CLI, with
// typed options, Node streams for stdio, logs and events, and AbortSignal support. Like the
// CLI it is daemonless: containers keep running (under their monitors) after the program ends.
import { Readable, Writable } from 'node:stream';
import { keepStandbyMonitor } from './engine/monitor.js';
import { Engine, type ContainerStats, type EngineOptions, type ExecOptions, type ListOptions, type LogsOptions, type RemoveOptions, type StopOptions, type UpdateOptions } from './engine/engine.js';
import { inspectContainer, inspectVolume, psRow } from './engine/inspect.js';
import type { LogEntry } from './engine/logs.js';
import type { CreateOptions } from './engine/options.js';
import type { ContainerRecord, EngineEvent, VolumeRecord } from './engine/types.js';
import { EngineError } from './engine/errors.js';

export type { ContainerStats, CreateOptions, EngineOptions, ExecOptions, ListOptions, LogsOptions, RemoveOptions, StopOptions, UpdateOptions, LogEntry, ContainerRecord, EngineEvent, VolumeRecord };
export { Engine } from './engine/engine.js';
export { EngineError, isEngineError } from './engine/errors.js';
export { BerthNetworks, type NetworkCreateOptions, type NetworkConnectOptions, type NetworkSummary, type PortMapping } from './library-networks.js';
import { BerthNetworks, type PortMapping } from './library-networks.js';
import { healthOf, runHealthcheck, type HealthcheckRun } from './engine/health.js';
import { BerthFiles, BerthSystem } from './library-system.js';
import { attachHandle, checkSize, checkStatsOptions, checkTty, keysFor, pumpAttach, resizeContainer, statsStream, type AttachHandle, type AttachOptions, type AttachResult, type StatsOptions, type TerminalSize } from './library-attach.js';
export type { AttachHandle, AttachOptions, AttachResult, StatsOptions, TerminalSize } from './library-attach.js';
import { execHandle, sink, type BerthExecOptions, type ExecHandle } from './library-exec.js';
export type { BerthExecOptions, ExecHandle, ExecResult } from './library-exec.js';
export { BerthFiles, BerthSystem, type CopyOptions, type PruneOptions, type PruneReport, type RestoreResult, type SystemInfo } from './library-system.js';
export type { HealthcheckRun };

export interface StdioOptions {
  /** Fed to the container's stdin (implies `interactive`). */
  stdin?: Readable | string | Buffer;
  /** Where the container's stdout/stderr go (default: collected into the result). */
  stdout?: Writable;
  stderr?: Writable;
}

export interface RunOptions extends CreateOptions, StdioOptions {
  /** Start and return at once (like `docker run -d`). */
  detach?: boolean;
  /** Aborting kills the container (SIGKILL). */
  signal?: AbortSignal;
}

export interface StartAttachOptions extends AttachOptions {
  /** Attach to its stdio and resolve with its exit (like `docker start -a`). */
  attach?: boolean;
}

/** attach's checks where the options enter: stdin needs an interactive container; the detach keys parse. */
function attachChecks(rec: ContainerRecord, o: AttachOptions): number[] {
  if (o.stdin !== undefined && !rec.config.OpenStdin) throw new EngineError('invalid', `stdin: container ${rec.name} was not created with interactive (create it with interactive: true to feed its stdin)`);
  return keysFor(!!rec.config.Tty, o.detachKeys);
}

export interface RunResult {
  id: string;
  name: string;
  /** The container's exit status (undefined when detached). */
  exitCode?: number;
  /** Collected output when no stdout/stderr stream was given. */
  stdout?: string;
  stderr?: string;
}

async function feed(stdin: Readable | string | Buffer, write: (b: Buffer) => void, end: () => void): Promise<void> {
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    write(Buffer.from(stdin));
    end();
    return;
  }
  for await (const chunk of stdin) write(Buffer.from(chunk as Buffer));
  end();
}

/** The version the library reports (system info), the CLI's. */
const BERTH_VERSION = '0.1.0';

export class Berth {
  readonly engine: Engine;
  private standby = false;

  constructor(opts: EngineOptions = {}) {
    this.engine = new Engine(opts);
    // a warm process starts many containers: keep their next monitor started (engine/monitor.ts)
    keepStandbyMonitor(true);
    this.standby = true;
  }

  /** Closes the metadata store (containers keep running). */
  close(): void {
    if (this.standby) keepStandbyMonitor(false);
    this.standby = false;
    this.engine.close();
  }

  async create(o: CreateOptions): Promise<{ id: string; name: string }> {
    const r = await this.engine.create(o);
    return { id: r.id, name: r.name };
  }

  /** Starts a container; with `attach` (like `docker start -a`) pumps its stdio until it exits (src/library-attach.ts). */
  start(id: string): Promise<void>;
  start(id: string, o: StartAttachOptions & { attach: true }): Promise<AttachResult>;
  start(id: string, o: StartAttachOptions): Promise<void | AttachResult>;
  async start(id: string, o: StartAttachOptions = {}): Promise<void | AttachResult> {
    if (!o.attach) {
      await this.engine.start(id);
      return;
    }
    o.signal?.throwIfAborted();
    const rec = this.engine.get(id);
    const keys = attachChecks(rec, o);
    if (o.size) {
      // refused before it starts, as attach refuses it (library-attach.ts)
      checkTty(rec);
      checkSize(o.size.rows, o.size.cols);
    }
    const s = await this.engine.start(rec.id, { attach: true });
    // already running: attach to it as it is
    const a = s.attach ?? (await this.engine.attach(rec.id));
    if (o.size) a.resize(o.size.rows, o.size.cols);
    // like docker's start -a: resolves once the exit is recorded (pumpAttach waits for it)
    return pumpAttach(this.engine, rec.id, a, { ...o, keys });
  }

  /** `docker attach`: the container's stdio as Node streams until it exits, detaches or the signal aborts. */
  attach(id: string, o: AttachOptions = {}): AttachHandle {
    let rec: ContainerRecord;
    let keys: number[];
    try {
      o.signal?.throwIfAborted();
      rec = this.engine.get(id);
      keys = attachChecks(rec, o);
    } catch (e) {
      return Object.assign(Promise.reject(e), { resize: () => {} }) as AttachHandle;
    }
    const connect = () => this.engine.attach(rec.id).catch((e: NodeJS.ErrnoException) => {
      // it exited before its state was recorded: its monitor's socket is gone
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') throw new EngineError('conflict', `You cannot attach to a stopped container, start it first`);
      throw e;
    });
    // the handle's resize() sets the terminal's size meanwhile; a bad size is refused before
    // connecting (library-attach.ts)
    return attachHandle(rec, connect, (a) => pumpAttach(this.engine, rec.id, a, { ...o, keys }), o.size);
  }

  /** docker's POST /containers/{id}/resize: sets the terminal size of a container created with tty. */
  resize(id: string, size: TerminalSize): Promise<void> {
    return resizeContainer(this.engine, id, size);
  }

  /** create + start; unless detached, waits and returns the exit status and output. */
  async run(o: RunOptions): Promise<RunResult> {
    const { detach, stdin, stdout, stderr, signal, ...create } = o;
    signal?.throwIfAborted();
    const rec = await this.engine.create({ ...create, ...(stdin !== undefined ? { interactive: true, stdinOnce: true } : {}) });
    let started;
    try {
      started = await this.engine.start(rec.id, { attach: !detach });
    } catch (e) {
      if (create.autoRemove) await this.engine.remove(rec.id, { force: true, volumes: true }).catch(() => {});
      throw e;
    }
    if (detach) return { id: rec.id, name: rec.name };
    const a = started.attach!;
    a.ref();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    a.on('stdout', sink(stdout, out));
    a.on('stderr', sink(stderr, err));
    const onAbort = () => void this.engine.kill(rec.id, 'SIGKILL').catch(() => {});
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort(); // aborted while the container was being created or started
    const exited = new Promise<number>((res) => {
      a.once('exit', (c: number) => res(c));
      a.once('close', () => res(a.exitStatus ?? -1));
    });
    if (stdin !== undefined) void feed(stdin, (b) => a.write(b), () => a.endStdin()).catch(() => {});
    let code = await exited;
    a.close();
    signal?.removeEventListener('abort', onAbort);
    const final = await this.engine.wait(rec.id).catch(() => code);
    if (code < 0) code = final;
    // like `docker run --rm`: return once the container is gone. wait() returns once it is, but
    // gives up after a while on a removal claimed elsewhere (the monitor's cleanup): remove it
    // here then (idempotent); a row already gone needs nothing more (wait saw to its leftovers)
    if (create.autoRemove && this.engine.store.get(rec.id)) await this.engine.remove(rec.id, { force: true, volumes: true }).catch(() => {});
    return { id: rec.id, name: rec.name, exitCode: code, ...(stdout ? {} : { stdout: Buffer.concat(out).toString() }), ...(stderr ? {} : { stderr: Buffer.concat(err).toString() }) };
  }

  stop(id: string, o?: StopOptions): Promise<ContainerRecord> {
    return this.engine.stop(id, o);
  }
  kill(id: string, signal = 'SIGKILL'): Promise<ContainerRecord> {
    return this.engine.kill(id, signal);
  }
  restart(id: string, o?: StopOptions): Promise<ContainerRecord> {
    return this.engine.restart(id, o);
  }
  remove(id: string, o?: RemoveOptions): Promise<void> {
    return this.engine.remove(id, o);
  }
  pause(id: string): void {
    this.engine.pause(id);
  }
  unpause(id: string): void {
    this.engine.unpause(id);
  }
  rename(id: string, name: string): void {
    this.engine.rename(id, name);
  }
  update(id: string, u: UpdateOptions): void {
    this.engine.update(id, u);
  }

  /** docker ps rows (ID, Names, Image, Status, State, ...). */
  list(o: ListOptions = {}): Record<string, unknown>[] {
    return this.engine.list(o).map((r) => psRow(r, true, Date.now(), healthOf(this.engine.store, r)));
  }

  /** docker inspect's JSON for a container. */
  inspect(id: string): Record<string, unknown> {
    const c = this.engine.get(id);
    return inspectContainer(c, this.engine.paths, this.engine.store.containerVolumes(c.id), healthOf(this.engine.store, c));
  }

  /** Waits until the container stops; returns its exit code. Aborting rejects. */
  wait(id: string, o: { signal?: AbortSignal } = {}): Promise<number> {
    return this.engine.wait(id, o);
  }

  /** The container's log as a stream of LogEntry objects (follow: until it stops or is aborted). */
  logs(id: string, o: LogsOptions = {}): Readable {
    return Readable.from(this.engine.logs(id, o), { objectMode: true });
  }

  /**
   * Runs a command in a running container; the handle resolves with its status (and output when
   * collected). With tty, a terminal: handle.resize(rows, cols) sets its size (src/library-exec.ts).
   */
  exec(id: string, o: BerthExecOptions): ExecHandle {
    return execHandle(this.engine, id, o);
  }

  top(id: string, psArgs?: string[]): { Titles: string[]; Processes: string[][] } {
    return this.engine.top(id, psArgs);
  }
  /** One sample of resource use, or with `stream` (like `docker stats`) a Readable of samples until the container stops or the signal aborts. */
  stats(id: string, o?: StatsOptions & { stream?: false }): Promise<ContainerStats>;
  stats(id: string, o: StatsOptions & { stream: true }): Readable & AsyncIterable<ContainerStats>;
  stats(id: string, o: StatsOptions = {}): Promise<ContainerStats> | Readable {
    checkStatsOptions(o);
    if (o.stream) {
      this.engine.get(id); // a missing container fails here, not on the stream
      return statsStream(this.engine, id, o);
    }
    o.signal?.throwIfAborted();
    return this.engine.stats(id, o.intervalMs);
  }

  /** Engine events as a stream of EngineEvent objects, until aborted (or `until`). */
  events(o: { since?: string; until?: string; signal?: AbortSignal } = {}): Readable {
    return Readable.from(this.engine.events(o), { objectMode: true });
  }

  createVolume(o: { name?: string; labels?: Record<string, string> } = {}): Record<string, unknown> {
    return inspectVolume(this.engine.createVolume(o));
  }
  listVolumes(filters?: Record<string, string[]>): Record<string, unknown>[] {
    return this.engine.listVolumes(filters).map(inspectVolume);
  }
  inspectVolume(name: string): Record<string, unknown> {
    return inspectVolume(this.engine.volume(name));
  }
  removeVolume(name: string, o?: { force?: boolean }): void {
    this.engine.removeVolume(name, o);
  }
  pruneVolumes(o?: { all?: boolean }): { removed: string[]; bytes: number } {
    return this.engine.pruneVolumes(o);
  }

  /** Networks: berth.networks.create/list/inspect/remove/prune/connect/disconnect (src/library-networks.ts). */
  get networks(): BerthNetworks {
    return new BerthNetworks(this.engine);
  }

  /** system info/df/prune/restore (src/library-system.ts). */
  get system(): BerthSystem {
    return new BerthSystem(this.engine, BERTH_VERSION);
  }

  /** cp both ways and tar streams (src/library-system.ts). */
  get files(): BerthFiles {
    return new BerthFiles(this.engine);
  }

  /** Runs the container's health check once (what its monitor does on the interval) and records it. */
  healthcheck(id: string): Promise<HealthcheckRun> {
    return runHealthcheck(this.engine, id);
  }

  /** `berth port`: the container's published ports (of one private port: "80", "53/udp"). */
  port(id: string, privatePort?: string): PortMapping[] {
    return this.engine.networks.ports(id, privatePort);
  }
}
