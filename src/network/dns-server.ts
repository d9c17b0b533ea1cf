// The resolver of one user-defined network: a small detached node process, started by the first
// attach to the network, stopped by the network's removal or by itself once the network has had
// no endpoint for a while (default 30 s: a `run --rm` loop does not pay a start per container). It binds UDP
// port 53 on the bridge's gateway address in the host's netns (containers use it as their
// nameserver), answers the network's names from the network's IPAM file (re-read when it
// changes; the file carries each endpoint's names and aliases), and forwards everything else to
// the container's --dns servers or the host's resolvers (from the host's netns, so a loopback
// resolver like systemd-resolved works too).
//
//   node dns-server.js <ipam-file> <address> <port> <resolv.conf> forward|noforward <lock> <pid-file> <idle-ms>
// Prints "READY" on stdout once bound; exits when the IPAM file disappears (the network was
// removed), on SIGTERM, or after <idle-ms> without endpoints.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { contains, isIPv4, parseCidr, parseIPv4, type Cidr } from './cidr.js';
import { answer, decode, encode, recordsOf, refused, servfail, type Message, type Records } from './dns.js';
import { parseResolvConf, type ResolvConf } from './host.js';
import type { IpamFile } from './ipam.js';
import { rmQuiet } from './fsutil.js';
import { tryLock, unlock } from './lock.js';

const FORWARD_TIMEOUT_MS = 2000;
const MAX_INFLIGHT = 256;

export interface ServerOptions {
  ipamFile: string;
  address: string;
  port: number;
  resolvConf: string;
  /** Forward names that are not the network's (off for --internal networks: no way out). */
  forward: boolean;
  /** Upstream servers' port (53; tests use a local fake). */
  upstreamPort?: number;
}

interface View {
  key: string;
  records: Records;
  dnsBySource: Map<string, string[]>;
  subnet?: Cidr;
}

function fileKey(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch {
    return undefined;
  }
}

export class Resolver {
  private view: View | undefined;
  private rc: { key: string; conf: ResolvConf } | undefined;
  private inflight = 0;
  private sock: Socket | undefined;

  constructor(readonly o: ServerOptions) {}

  /** The network's records, re-read when the IPAM file changed (one stat per query). */
  current(): View | undefined {
    const key = fileKey(this.o.ipamFile);
    if (key === undefined) return undefined;
    if (this.view?.key !== key) {
      try {
        const f = JSON.parse(readFileSync(this.o.ipamFile, 'utf8')) as IpamFile;
        const allocs = Object.values(f.allocations);
        let subnet: Cidr | undefined;
        try {
          subnet = parseCidr(f.subnet);
        } catch {
          subnet = undefined;
        }
        this.view = { key, records: recordsOf(allocs), dnsBySource: new Map(allocs.map((a) => [a.ip, a.dns])), ...(subnet ? { subnet } : {}) };
      } catch {
        /* replaced under us: keep the last view */
      }
    }
    return this.view;
  }

  upstreams(source: string): string[] {
    const own = this.view?.dnsBySource.get(source);
    if (own?.length) return own.filter(isIPv4);
    const key = fileKey(this.o.resolvConf) ?? '';
    if (this.rc?.key !== key) this.rc = { key, conf: parseResolvConf(safeRead(this.o.resolvConf)) };
    return this.rc.conf.nameservers.filter((s) => isIPv4(s) && s !== this.o.address);
  }

  searchDomains(): string[] {
    return this.rc?.conf.search ?? parseResolvConf(safeRead(this.o.resolvConf)).search;
  }

  /** Handles one datagram; returns the reply (undefined: drop). */
  async handle(msg: Buffer, from: string): Promise<Buffer | undefined> {
    let q: Message;
    try {
      q = decode(msg);
    } catch {
      return undefined;
    }
    if (q.flags & 0x8000) return undefined; // a response, not a query
    const view = this.current();
    if (!view) return servfail(q);
    // Only the network's own containers (and the host itself) may ask: a container of another
    // network can reach this gateway address through the host, and must not learn these names.
    if (!from.startsWith('127.') && !(view.subnet && isIPv4(from) && contains(view.subnet, parseIPv4(from)))) return refused(q);
    const domains = this.searchDomains();
    const records: Records = {
      lookup: (n) => view.records.lookup(n) ?? stripSearch(n, domains, view.records),
      reverse: view.records.reverse,
      lookup6: (n) => view.records.lookup6?.(n) ?? stripSearch(n, domains, { lookup: (x) => view.records.lookup6?.(x), reverse: () => undefined }),
    };
    const local = answer(q, records);
    if (local !== 'forward') return encode(local);
    if (!this.o.forward || this.inflight >= MAX_INFLIGHT) return servfail(q);
    this.inflight++;
    try {
      for (const up of this.upstreams(from)) {
        const r = await forward(msg, up, this.o.upstreamPort ?? 53, FORWARD_TIMEOUT_MS);
        if (r) return r;
      }
      return servfail(q);
    } finally {
      this.inflight--;
    }
  }

  listen(): Promise<void> {
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    this.sock = sock;
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      this.handle(msg, rinfo.address).then(
        (r) => r && sock.send(r, rinfo.port, rinfo.address),
        () => {},
      );
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.o.port, this.o.address, () => {
        sock.removeListener('error', reject);
        sock.on('error', () => {});
        resolve();
      });
    });
  }

  /** The bound port (for port 0). */
  port(): number {
    return this.sock?.address().port ?? 0;
  }

  close(): void {
    this.sock?.close();
  }
}

function stripSearch(name: string, domains: string[], r: Records): string[] | undefined {
  for (const d of domains) {
    const suffix = `.${d.toLowerCase().replace(/\.$/, '')}`;
    if (name.endsWith(suffix)) {
      const hit = r.lookup(name.slice(0, -suffix.length));
      if (hit) return hit;
    }
  }
  return undefined;
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Sends the query to one upstream from a fresh socket (a random source port) and waits. */
function forward(msg: Buffer, server: string, port: number, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const id = msg.readUInt16BE(0);
    const done = (r: Buffer | undefined) => {
      clearTimeout(t);
      s.close();
      resolve(r);
    };
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('error', () => done(undefined));
    s.on('message', (r, rinfo) => {
      if (rinfo.address === server && r.length >= 12 && r.readUInt16BE(0) === id) done(r);
    });
    s.send(msg, port, server, (e) => e && done(undefined));
  });
}

/**
 * Exits once the network has had no endpoint for `idleMs` (so `run --rm` loops reuse one
 * resolver) -- under the network's lock, which attach holds while it checks for a running
 * resolver, so an attach never counts on a resolver that is about to exit.
 */
export function idleCheck(o: { ipamFile: string; lockFile: string; pidFile: string; idleMs: number }, state: { idleSince?: number }, now = Date.now()): 'exit' | 'stay' {
  if (fileKey(o.ipamFile) === undefined) return 'exit'; // the network is gone
  const empty = (): boolean => {
    try {
      return Object.keys((JSON.parse(readFileSync(o.ipamFile, 'utf8')) as IpamFile).allocations).length === 0;
    } catch {
      return false;
    }
  };
  if (!empty()) {
    state.idleSince = undefined;
    return 'stay';
  }
  state.idleSince ??= now;
  if (now - state.idleSince < o.idleMs) return 'stay';
  if (!tryLock(o.lockFile)) return 'stay';
  try {
    if (!empty()) {
      state.idleSince = undefined;
      return 'stay';
    }
    try {
      if (readFileSync(o.pidFile, 'utf8').split(' ')[0] === String(process.pid)) rmQuiet(o.pidFile);
    } catch {
      /* no pid file */
    }
    return 'exit';
  } finally {
    unlock(o.lockFile);
  }
}

async function main(argv: string[]): Promise<void> {
  const [ipamFile, address, port, resolvConf, fwd, lockFile, pidFile, idle] = argv;
  if (!ipamFile || !address || !port || !resolvConf || (fwd !== 'forward' && fwd !== 'noforward') || !lockFile || !pidFile || !idle) {
    process.stderr.write('usage: dns-server <ipam-file> <address> <port> <resolv.conf> forward|noforward <lock-file> <pid-file> <idle-ms>\n');
    process.exit(2);
  }
  const r = new Resolver({ ipamFile, address, port: Number(port), resolvConf, forward: fwd === 'forward' });
  try {
    await r.listen();
  } catch (e) {
    process.stdout.write(`ERR ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write('READY\n');
  const state = {};
  const idleMs = Number(idle);
  setInterval(() => {
    if (idleCheck({ ipamFile, lockFile, pidFile, idleMs }, state) === 'exit') process.exit(0);
  }, Math.min(2000, Math.max(100, idleMs / 2))).unref();
  process.on('SIGTERM', () => {
    r.close();
    process.exit(0);
  });
  process.on('SIGPIPE', () => {});
}

if (process.argv[1]?.endsWith('/dns-server.js')) {
  void main(process.argv.slice(2));
}
