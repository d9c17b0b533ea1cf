// A synchronous D-Bus connection (peer-to-peer: no Hello, as systemd's private socket wants).
// The cgroup manager interface is synchronous and node has no synchronous socket API, so there
// are two transports:
//   - fd: a socket connected beforehand, asynchronously (connectSystemdSocket, which the runtime
//     awaits where it opens the manager); then plain read(2)/write(2) on its descriptor, with
//     node's own reading stopped, polling with short sleeps while nothing has arrived.
//   - worker: without such a socket, a tiny worker thread owns one and forwards bytes; this
//     thread blocks in Atomics.wait until they arrive (costs a worker start, ~20-200 ms).
import { once } from 'node:events';
import { readSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { errnoOf } from '../errors.js';
import { decodeMessage, encodeMessage, MSG, messageLength, type Message } from './dbus-wire.js';

/** The socket pump: connect, forward data both ways, wake the owner on every event. */
const PUMP = `
const { workerData } = require('node:worker_threads');
const net = require('node:net');
const { port, flag, path } = workerData;
const wake = () => { Atomics.add(flag, 0, 1); Atomics.notify(flag, 0); };
const post = (m) => { port.postMessage(m); wake(); };
const sock = net.connect(path);
sock.on('connect', () => post({ t: 'connect' }));
sock.on('data', (d) => post({ t: 'data', d }));
sock.on('error', (e) => post({ t: 'error', m: e.message, code: e.code }));
sock.on('close', () => { post({ t: 'close' }); port.close(); });
port.on('message', (m) => { if (m.t === 'send') sock.write(Buffer.from(m.d)); else sock.destroy(); });
`;

type PumpEvent = { t: 'connect' } | { t: 'data'; d: Uint8Array } | { t: 'error'; m: string; code?: string } | { t: 'close' };

export class DbusError extends Error {
  constructor(message: string, readonly dbusName = '', readonly code = '') {
    super(message);
    this.name = 'DbusError';
  }
}

/** Moves bytes; `wait` blocks until some arrive (or the deadline), `poll` never blocks. */
interface Transport {
  /** Bytes that arrived (empty when none yet); throws when the peer is gone. */
  poll(): Buffer;
  /** Block until bytes may have arrived or `deadline` (ms since epoch). */
  wait(deadline: number): void;
  send(b: Buffer): void;
  close(): void;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

class WorkerTransport implements Transport {
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private seen = 0;
  connected = false;

  constructor(private readonly path: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(PUMP, { eval: true, workerData: { port: port2, flag: this.flag, path }, transferList: [port2] });
    this.worker.unref();
    this.port.unref(); // an idle connection must not keep the process alive
  }

  poll(): Buffer {
    const parts: Buffer[] = [];
    this.seen = Atomics.load(this.flag, 0);
    for (let got = receiveMessageOnPort(this.port); got; got = receiveMessageOnPort(this.port)) {
      const ev = got.message as PumpEvent;
      if (ev.t === 'connect') this.connected = true;
      else if (ev.t === 'data') parts.push(Buffer.from(ev.d));
      else if (ev.t === 'error') throw new DbusError(`${this.path}: ${ev.m}`, '', ev.code ?? '');
      else throw new DbusError(`${this.path}: the peer closed the connection`, '', 'ECONNRESET');
    }
    return Buffer.concat(parts);
  }

  wait(deadline: number): void {
    // in slices of 5 ms, not until the deadline: a wake-up can be missed while the worker starts
    // (measured: the first 'connect' came only after the whole 30 s timeout, in most test runs)
    Atomics.wait(this.flag, 0, this.seen, Math.max(0, Math.min(5, deadline - Date.now())));
  }

  send(b: Buffer): void {
    this.port.postMessage({ t: 'send', d: b });
  }

  close(): void {
    try {
      this.port.postMessage({ t: 'end' });
    } catch {
      /* the pump is gone already */
    }
    this.port.close();
    void this.worker.terminate();
  }
}

class FdTransport implements Transport {
  private readonly chunk = Buffer.alloc(65536);
  private idle = 0;

  constructor(private readonly path: string, private readonly sock: Socket, private readonly fd: number) {}

  poll(): Buffer {
    try {
      const n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      if (n === 0) throw new DbusError(`${this.path}: the peer closed the connection`, '', 'ECONNRESET');
      this.idle = 0;
      return Buffer.from(this.chunk.subarray(0, n));
    } catch (e) {
      if (errnoOf(e) === 'EAGAIN') return Buffer.alloc(0);
      if (e instanceof DbusError) throw e;
      throw new DbusError(`${this.path}: ${(e as Error).message}`, '', errnoOf(e));
    }
  }

  wait(deadline: number): void {
    // nothing to block on: sleep 0.2, 0.4, ... up to 5 ms between reads
    this.idle = Math.min(this.idle ? this.idle * 2 : 0.2, 5);
    Atomics.wait(sleepCell, 0, 0, Math.max(0, Math.min(this.idle, deadline - Date.now())));
  }

  send(b: Buffer): void {
    let off = 0;
    const deadline = Date.now() + 5000;
    while (off < b.length) {
      try {
        off += writeSync(this.fd, b, off, b.length - off);
      } catch (e) {
        if (errnoOf(e) !== 'EAGAIN' || Date.now() > deadline) throw new DbusError(`${this.path}: ${(e as Error).message}`, '', errnoOf(e));
        Atomics.wait(sleepCell, 0, 0, 1);
      }
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/**
 * Connect to a unix socket asynchronously and hand back a socket whose descriptor the
 * synchronous connection can use (node's reading is stopped first); undefined where node does
 * not expose the descriptor.
 */
export async function connectSocketFd(path: string): Promise<{ sock: Socket; fd: number } | undefined> {
  const sock = connect(path);
  await once(sock, 'connect');
  const handle = (sock as unknown as { _handle?: { fd?: number; readStop?: () => number } })._handle;
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0 || typeof handle.readStop !== 'function') {
    sock.destroy();
    return undefined;
  }
  handle.readStop(); // the peer has sent nothing yet; from here on only readSync reads
  sock.pause();
  sock.unref();
  sock.on('error', () => {}); // failures surface through readSync/writeSync
  return { sock, fd: handle.fd };
}

export class SyncDbusConnection {
  private readonly t: Transport;
  private buf: Buffer = Buffer.alloc(0);
  private serial = 0;
  private closed = false;
  /** Messages read while waiting for something else (signals, other replies). */
  readonly pending: Message[] = [];

  /**
   * Authenticate (EXTERNAL, as this process's uid) on `socket` (from connectSocketFd), or
   * connect to `socketPath` through a worker thread first.
   */
  constructor(readonly socketPath: string, private readonly timeoutMs = 30000, socket?: { sock: Socket; fd: number }) {
    try {
      if (socket) this.t = new FdTransport(socketPath, socket.sock, socket.fd);
      else {
        const w = new WorkerTransport(socketPath);
        this.t = w;
        this.until(() => w.connected, 'connect');
      }
      const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
      // AUTH and BEGIN in one write, as sd-bus clients do: systemd (252) sometimes leaves a
      // message unanswered when BEGIN and the message arrive together after the OK.
      this.send(Buffer.from(`\0AUTH EXTERNAL ${uid}\r\nBEGIN\r\n`));
      const line = this.readLine();
      if (!line.startsWith('OK ')) throw new DbusError(`${socketPath}: D-Bus authentication refused (${line.trim()})`);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Read until `ready()`; throws on timeout or when the peer goes away (and closes). */
  private until(ready: () => boolean, what: string): void {
    const deadline = Date.now() + this.timeoutMs;
    while (!ready()) {
      let got: Buffer;
      try {
        got = this.t.poll();
      } catch (e) {
        this.close();
        throw e instanceof DbusError && e.code === 'ECONNRESET' ? new DbusError(`${e.message} while berth waited for ${what}`, '', e.code) : e;
      }
      if (got.length) {
        this.buf = this.buf.length ? Buffer.concat([this.buf, got]) : got;
        continue;
      }
      if (Date.now() >= deadline) throw new DbusError(`${this.socketPath}: no answer within ${this.timeoutMs} ms while waiting for ${what}`, '', 'ETIMEDOUT');
      this.t.wait(deadline);
    }
  }

  private readLine(): string {
    this.until(() => this.buf.includes('\r\n'), 'the authentication answer');
    const at = this.buf.indexOf('\r\n');
    const line = this.buf.toString('latin1', 0, at);
    this.buf = this.buf.subarray(at + 2);
    return line;
  }

  private send(b: Buffer): void {
    if (this.closed) throw new DbusError(`${this.socketPath}: connection closed`);
    this.t.send(b);
  }

  /** The next message from the peer (blocking). */
  private next(what: string): Message {
    const queued = this.pending.shift();
    if (queued) return queued;
    let n = 0;
    this.until(() => (n = messageLength(this.buf)) > 0, what);
    const m = decodeMessage(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return m;
  }

  /** Call a method and return its reply's body; a D-Bus error reply throws a DbusError. */
  call(path: string, iface: string, member: string, signature: string, body: unknown[], destination?: string): unknown[] {
    const serial = ++this.serial;
    this.send(encodeMessage({ type: MSG.call, serial, path, interface: iface, member, signature, body, ...(destination ? { destination } : {}) }));
    const skipped: Message[] = [];
    try {
      for (;;) {
        const m = this.next(`the reply to ${member}`);
        if ((m.type === MSG.reply || m.type === MSG.error) && m.replySerial === serial) {
          if (m.type === MSG.error) {
            const text = typeof m.body?.[0] === 'string' ? (m.body[0] as string) : '';
            throw new DbusError(`${member}: ${m.errorName}${text ? `: ${text}` : ''}`, m.errorName ?? '');
          }
          return m.body ?? [];
        }
        skipped.push(m);
      }
    } finally {
      this.pending.unshift(...skipped);
    }
  }

  /** Wait for a signal that `match` accepts (signals already read are looked at first). */
  waitSignal(match: (m: Message) => boolean, what: string): Message {
    const i = this.pending.findIndex((m) => m.type === MSG.signal && match(m));
    if (i >= 0) return this.pending.splice(i, 1)[0]!;
    const skipped: Message[] = [];
    try {
      for (;;) {
        const m = this.next(what);
        if (m.type === MSG.signal && match(m)) return m;
        skipped.push(m);
      }
    } finally {
      this.pending.push(...skipped);
    }
  }

  /** False once closed or the peer went away (looks at what already arrived, without waiting). */
  get usable(): boolean {
    if (this.closed) return false;
    try {
      for (let got = this.t.poll(); got.length; got = this.t.poll()) this.buf = Buffer.concat([this.buf, got]);
    } catch {
      this.close();
    }
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.t?.close();
  }
}
