// The engine's side of berth-monitor (native/berth-monitor.c): starting one per container,
// reading what it records, and speaking its attach protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { SHIM_PATH } from '../runtime/launch.js';
import { EngineError, launchError } from './errors.js';
import type { RestartPolicy } from './types.js';

/** The monitor is a sub-command of berth's one C program, dist/berth-shim (native/berth-monitor.c). */
export const MONITOR_PATH = SHIM_PATH;

export interface MonitorOptions {
  stateDir: string;
  plan: Buffer;
  logPath: string;
  logType: 'json-file' | 'cri' | 'none';
  maxSize: number;
  maxFiles: number;
  restart: RestartPolicy;
  openStdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  /** memory.oom_control (v1) or memory.events (v2) of the container's cgroup. */
  oomFile?: string;
  /** Run when the container is finally down and no foreground client is attached. */
  exitCommand?: string[];
  /** Keep a first attach connection from the start (foreground run, start -a): nothing is missed. */
  attach?: boolean;
  /** More monitor flags (the health check's schedule: health.ts). */
  extraArgs?: string[];
  /** Called as soon as the monitor's pid is known (before the container runs). */
  onMonitor?: (pid: number) => void;
}

export interface MonitorStarted {
  monitorPid: number;
  pid: number;
  attach?: AttachClient;
}

export function monitorArgs(o: MonitorOptions): string[] {
  const a = ['-d', o.stateDir, '-e', SHIM_PATH, '-s', '3', '-l', o.logPath, '-L', o.logType, '-r', o.restart.Name, '-R', String(o.restart.MaximumRetryCount)];
  if (o.maxSize > 0) a.push('-S', String(o.maxSize), '-N', String(o.maxFiles));
  if (o.openStdin) a.push('-i');
  if (o.stdinOnce) a.push('-o');
  if (o.tty) a.push('-t');
  if (o.oomFile) a.push('-O', o.oomFile);
  if (o.attach) a.push('-a', '4');
  if (o.extraArgs?.length) a.push(...o.extraArgs);
  if (o.exitCommand?.length) a.push('--', ...o.exitCommand);
  return a;
}

// A long-lived process (the library, warm) keeps monitors started ahead of need
// (`berth-shim monitor --standby`: already exec'd, its sealed copy of the shim made), and a start
// hands one the container's arguments instead of spawning one: the process start, an exec and the
// copy leave the start's path. As root it also makes a fresh network namespace ahead, which the
// shim joins instead of unsharing one when the plan asks for a new netns without a user namespace
// (--network none; berth-monitor.c prepare_netns). A one-shot CLI keeps none (it would start one for nothing).
// The library's come STANDBY_POOL at a time from one spawn (`--standby SPACES K`, berth-monitor.c
// standby_pool): node's spawn forks the whole node process and waits for the child's exec (~2-4
// ms of the main thread), and the fork, overlapping the start that took the last standby, slowed
// that start's launch in the kernel (measured: 13.8 ms from the job to READY, 4.9 without it);
// one spawn per STANDBY_POOL starts pays that once.
interface Standby {
  child: ChildProcess;
  status: Socket;
  attach: Socket;
  gone: boolean;
  /** The spawned process itself (member 0 of a pool): its pid and exit are known here. */
  first: boolean;
}
/** Standbys ready, taken in order (a pool's member 0 first, see standby_pool). */
let standbys: Standby[] = [];
let standbyUsers = 0;

/** Standbys per spawn for a warm library (a few idle processes of ~100 KiB and a netns each). */
export const STANDBY_POOL = 4;

function spawnStandby(force = false, count = standbyUsers > 0 ? STANDBY_POOL : 1, netns = true): void {
  if ((standbyUsers <= 0 && !force) || standbys.length) return;
  const pipes: 'pipe'[] = Array.from({ length: 2 * count }, () => 'pipe' as const);
  // the spaces: room for the container's arguments in its command line (ps), once it has them;
  // -n: no netns made ahead, its container will not use one (standby-netns.ts)
  const child = spawn(MONITOR_PATH, ['monitor', '--standby', ' '.repeat(240), ...(count > 1 ? [String(count)] : []), ...(netns ? [] : ['-n'])], { stdio: ['ignore', 'ignore', 'ignore', ...pipes], detached: true });
  child.unref();
  const pool: Standby[] = [];
  for (let j = 0; j < count; j++) {
    const sb: Standby = { child, status: child.stdio[3 + 2 * j] as Socket, attach: child.stdio[4 + 2 * j] as Socket, gone: false, first: j === 0 };
    const drop = () => {
      sb.gone = true;
      standbys = standbys.filter((x) => x !== sb);
    };
    // the spawned process is member 0 only; the others are its forks, seen through their fds
    if (j === 0) child.once('exit', drop);
    sb.status.on('error', drop);
    sb.status.once('close', drop);
    sb.status.unref();
    sb.attach.unref();
    pool.push(sb);
  }
  // no process at all: none of them will answer
  child.once('error', () => {
    for (const sb of pool) {
      sb.gone = true;
      sb.status.destroy();
      sb.attach.destroy();
    }
    standbys = standbys.filter((x) => !pool.includes(x));
  });
  standbys.push(...pool);
}

function dropStandbys(): void {
  for (const sb of standbys) {
    // EOF on its fd 3 makes it exit
    sb.status.destroy();
    sb.attach.destroy();
  }
  standbys = [];
}

/**
 * Keep a standby monitor while at least one user wants it (the Berth library, open to close);
 * the first one starts with the first container (a Berth that only lists starts none).
 */
export function keepStandbyMonitor(on: boolean): void {
  standbyUsers += on ? 1 : -1;
  if (standbyUsers <= 0) dropStandbys();
}

/**
 * A one-shot CLI about to start a container (`berth run`): its monitor is started now, as a
 * standby, so that its exec, its sealed copy of the shim and its scheduling overlap the store's
 * opening and the container's creation instead of following them (node's spawn itself blocks
 * either way); the start takes it (startMonitor). Measured: about even on a quiet machine, the
 * monitor's start off the critical path (~15 ms) on a loaded one. One that gets no container
 * exits at EOF on its fd 3: dropPrestartedMonitor(), or this process's exit.
 */
export function prestartMonitor(netns = true): void {
  spawnStandby(true, 1, netns); // netns: whether to make the container's netns ahead (standby-netns.ts)
}

/** Ends a prestarted standby that no start took (nothing when a warm library keeps one). */
export function dropPrestartedMonitor(): void {
  if (standbyUsers > 0) return;
  dropStandbys();
}

/** A zombie or a pid gone: its exit may not have reached the event loop yet. */
function exited(pid: number | undefined): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(st.slice(st.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

function takeStandby(): Standby | undefined {
  let sb: Standby | undefined;
  // a forked member's death shows only on its fds: a write to a dead one fails over (STANDBY_LOST)
  while ((sb = standbys.shift()) && (sb.gone || (sb.first && (sb.child.exitCode !== null || sb.child.signalCode !== null || exited(sb.child.pid))))) {
    sb.status.destroy();
    sb.attach.destroy();
  }
  // the next ones start while this container is being set up (the main thread waits then)
  if (standbyUsers > 0 && !standbys.length) setImmediate(spawnStandby);
  return sb;
}

/** Starts a monitor, which launches the container; resolves once the container runs. */
export function startMonitor(o: MonitorOptions): Promise<MonitorStarted> {
  writeFileSync(join(o.stateDir, 'plan'), o.plan, { mode: 0o600 });
  const args = monitorArgs(o);
  // a standby that dies before it has said anything launched nothing: start one as usual
  const sb = takeStandby();
  return sb ? runMonitor(o, args, sb).catch((e: unknown) => (e === STANDBY_LOST ? runMonitor(o, args) : Promise.reject(e))) : runMonitor(o, args);
}

const STANDBY_LOST = new EngineError('system', 'the standby monitor exited before it took the container');

function runMonitor(o: MonitorOptions, args: string[], sb?: Standby): Promise<MonitorStarted> {
  let child: ChildProcess;
  let status: Socket;
  let attachSock: Socket | undefined;
  if (sb) {
    child = sb.child;
    status = sb.status;
    status.ref();
    attachSock = o.attach ? sb.attach : undefined;
    if (!o.attach) sb.attach.destroy();
    const job = Buffer.from(args.map((a) => `${a}\0`).join(''));
    status.write(Buffer.concat([Buffer.from(`${job.length}\n`), job]));
  } else {
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'ignore', 'pipe'];
    if (o.attach) stdio.push('pipe');
    child = spawn(MONITOR_PATH, ['monitor', ...args], { stdio, detached: true });
    child.unref();
    status = child.stdio[3] as Socket;
    attachSock = o.attach ? (child.stdio[4] as Socket) : undefined;
  }
  // the attach socket must not keep a short-lived CLI alive by itself; the caller refs it
  attachSock?.unref();
  return new Promise((resolve, reject) => {
    let buf = '';
    let heard = false;
    let monitorPid = 0;
    let pid = 0;
    let done = false;
    const finish = (err?: EngineError) => {
      if (done) return;
      done = true;
      status.destroy();
      if (err) {
        attachSock?.destroy();
        reject(sb && !heard ? STANDBY_LOST : err);
      } else resolve({ monitorPid, pid, ...(attachSock ? { attach: new AttachClient(attachSock) } : {}) });
    };
    child.once('error', (e) => finish(new EngineError('system', `cannot start the monitor (${MONITOR_PATH} monitor): ${e.message}; run "npm run build"`)));
    status.on('error', () => {});
    status.on('data', (d: Buffer) => {
      heard = true;
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('MONITOR ')) {
          monitorPid = Number(line.slice(8));
          o.onMonitor?.(monitorPid);
        }
        else if (line.startsWith('PID ')) pid = Number(line.slice(4));
        else if (line === 'READY') finish();
        else if (line.startsWith('ERR ')) finish(launchError(line.slice(4)));
      }
    });
    status.on('close', () => finish(new EngineError('system', 'berth-monitor exited before the container started')));
  });
}

export interface PidFile {
  pid: number;
  restarts: number;
  monitorPid: number;
}

export function readPidFile(stateDir: string): PidFile | null {
  try {
    const [pid, restarts, monitorPid] = readFileSync(join(stateDir, 'pid'), 'utf8').trim().split(' ').map(Number);
    return { pid: pid ?? 0, restarts: restarts ?? 0, monitorPid: monitorPid ?? 0 };
  } catch {
    return null;
  }
}

export interface ExitFile {
  status: number;
  signal: number;
  oom: boolean;
  finished: string;
  restarts: number;
  error: string;
}

export function readExitFile(stateDir: string): ExitFile | null {
  let text: string;
  try {
    text = readFileSync(join(stateDir, 'exit'), 'utf8');
  } catch {
    return null;
  }
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  return {
    status: Number(kv.get('status') ?? 255), signal: Number(kv.get('signal') ?? 0), oom: kv.get('oom') === '1',
    finished: kv.get('finished') ?? '', restarts: Number(kv.get('restarts') ?? 0), error: kv.get('error') ?? '',
  };
}

/** Tells the monitor not to restart the container (stop, kill, rm). */
export function markStopped(stateDir: string): void {
  try {
    writeFileSync(join(stateDir, 'stopped'), '');
  } catch {
    /* no state directory: no monitor either */
  }
}

/** A new restart policy for a running monitor (berth update --restart). */
export function writeRestartPolicy(stateDir: string, p: RestartPolicy): void {
  writeFileSync(join(stateDir, 'restart'), `${p.Name} ${p.MaximumRetryCount}\n`);
}

// ---------------------------------------------------------------- attach protocol

export const FRAME = { stdin: 0, stdout: 1, stderr: 2, resize: 3, closeStdin: 4, exit: 5 } as const;

export function frame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/**
 * A connection to a container's monitor: 'stdout' and 'stderr' (Buffer), 'exit' (status) and
 * 'close' events; stdin, end of stdin and terminal size go the other way.
 */
export class AttachClient extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  exitStatus: number | undefined;

  constructor(readonly socket: Socket) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => this.emit('close'));
  }

  static connect(stateDir: string): Promise<AttachClient> {
    return new Promise((resolve, reject) => {
      const s = connect(join(stateDir, 'attach.sock'));
      s.once('connect', () => resolve(new AttachClient(s)));
      s.once('error', (e) => reject(e));
    });
  }

  private onData(d: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      const type = this.buf[0];
      const payload = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      if (type === FRAME.stdout) this.emit('stdout', payload);
      else if (type === FRAME.stderr) this.emit('stderr', payload);
      else if (type === FRAME.exit) {
        this.exitStatus = Number(payload.toString());
        this.emit('exit', this.exitStatus);
      }
    }
  }

  write(data: Buffer): void {
    for (let off = 0; off < data.length; off += 65536) this.socket.write(frame(FRAME.stdin, data.subarray(off, off + 65536)));
  }
  endStdin(): void {
    this.socket.write(frame(FRAME.closeStdin));
  }
  resize(rows: number, cols: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(rows & 0xffff, 0);
    p.writeUInt16BE(cols & 0xffff, 2);
    this.socket.write(frame(FRAME.resize, p));
  }
  close(): void {
    this.socket.destroy();
  }
  ref(): void {
    this.socket.ref();
  }
  unref(): void {
    this.socket.unref();
  }
}
