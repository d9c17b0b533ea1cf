// IP address management for one network: one JSON file per network, read-modified-written
// atomically (temp + rename) under that network's lock file, so parallel `berth run`s in
// separate processes never hand out one address twice, and a crash at any instant leaves either
// the old or the new file. Each allocation carries the endpoint's DNS facts (names, aliases),
// so the network's resolver reads one file. Addresses are handed out round-robin from the
// range (a released address is not reused at once: peers may still cache its MAC).
import { join } from 'node:path';
import { contains, formatIPv4, hostRange, last, macFromIPv4, parseCidr, parseIPv4, formatCidr, type Cidr } from './cidr.js';
import { conflict, invalid, system } from './errors.js';
import { readJson, rmQuiet, writeJsonAtomic } from './fsutil.js';
import { withLock, withLockSync } from './lock.js';
import { next6, static6 } from './ipam6.js';
import { formatCidr6, formatIPv6, parseCidr6, parseIPv6, type Cidr6 } from './cidr6.js';

export interface Allocation {
  ip: string;
  /** The container id (the owner). */
  container: string;
  /** Names the network's resolver answers for this address: the container name, short id, aliases. */
  names: string[];
  mac: string;
  /** The container's own upstream resolvers (--dns); the host's when empty. */
  dns: string[];
  /** Dual-stack networks: the container's IPv6 address (released with the v4 one). */
  ip6?: string;
}

export interface IpamFile {
  version: 1;
  subnet: string;
  gateway: string;
  range?: string;
  /** The last address handed out automatically (the next search starts after it). */
  last?: string;
  /** Dual stack: the v6 subnet and gateway, and the last v6 address handed out automatically. */
  subnet6?: string;
  gateway6?: string;
  last6?: string;
  allocations: Record<string, Allocation>;
}

export interface IpamPool {
  subnet: Cidr;
  gateway: number;
  /** Automatic allocation only from here (--ip-range); static addresses may be anywhere in the subnet. */
  range?: Cidr;
  /** Dual stack: every allocation also gets an address from here. */
  subnet6?: Cidr6;
  gateway6?: bigint;
}

export class Ipam {
  readonly file: string;
  readonly lockFile: string;

  /**
   * `lockFile`: the lock guarding the file (default <dir>/<id>.lock; the manager passes its
   * network lock, so one lock covers the bridge, the addresses and the resolver).
   */
  constructor(dir: string, readonly networkId: string, readonly pool: IpamPool, readonly opts: { fsync?: boolean; lockFile?: string } = {}) {
    this.file = join(dir, `${networkId}.json`);
    this.lockFile = opts.lockFile ?? join(dir, `${networkId}.lock`);
  }

  /** Runs fn with this IPAM's lock held, for callers that do more under the same lock. */
  locked<T>(fn: (held: HeldIpam) => Promise<T>): Promise<T> {
    return withLock(this.lockFile, () => fn(new HeldIpam(this)));
  }

  /** Reads without the lock: files are replaced atomically, so a reader sees a whole version. */
  read(): IpamFile {
    return readJson<IpamFile>(this.file) ?? this.empty();
  }

  private empty(): IpamFile {
    const f: IpamFile = { version: 1, subnet: formatCidr(this.pool.subnet), gateway: formatIPv4(this.pool.gateway), allocations: {} };
    if (this.pool.range) f.range = formatCidr(this.pool.range);
    return f;
  }

  /** Runs fn on the current file under the lock and writes back what it returns (if anything). */
  update<T>(fn: (f: IpamFile) => { value: T; write: boolean }): T {
    return withLockSync(this.lockFile, () => this.updateHeld(fn));
  }

  /** update() for a caller that holds the lock. */
  updateHeld<T>(fn: (f: IpamFile) => { value: T; write: boolean }): T {
    const f = this.read();
    const r = fn(f);
    if (r.write) writeJsonAtomic(this.file, f, { fsync: this.opts.fsync });
    return r.value;
  }

  /**
   * Allocates an address for `alloc.container` (static when `ip` is given). A container already
   * holding an address in this network is an error: connect it once.
   */
  allocate(alloc: Omit<Allocation, 'ip' | 'ip6'>, ip?: string, ip6?: string): string {
    return withLockSync(this.lockFile, () => this.allocateHeld(alloc, ip, ip6));
  }

  /** allocate() for a caller that holds the lock. */
  allocateHeld(alloc: Omit<Allocation, 'ip' | 'ip6'>, ip?: string, ip6?: string): string {
    return this.updateHeld((f) => {
      const held = Object.values(f.allocations).find((a) => a.container === alloc.container);
      if (held) throw conflict(`container ${alloc.container.slice(0, 12)} already has ${held.ip} in network ${this.networkId.slice(0, 12)}`);
      if (ip6 !== undefined && !this.pool.subnet6) throw invalid(`invalid --ip6 ${ip6}: network ${this.networkId.slice(0, 12)} has no IPv6 subnet (create it with --ipv6)`);
      const chosen = ip !== undefined ? this.checkStatic(f, ip) : this.next(f);
      const mac = alloc.mac || macFromIPv4(parseIPv4(chosen));
      // a MAC is one container's alone on the network (one bridge): an explicit --mac-address,
      // or a static --ip whose derived MAC a container took with --mac-address
      const macHolder = Object.values(f.allocations).find((a) => a.mac === mac);
      if (macHolder) {
        throw conflict(alloc.mac
          ? `MAC address ${mac} is already in use by container ${macHolder.container.slice(0, 12)} on network ${this.networkId.slice(0, 12)}`
          : `address ${chosen}: its MAC address ${mac} is in use by container ${macHolder.container.slice(0, 12)} (given with --mac-address)`);
      }
      let v6: string | undefined;
      if (this.pool.subnet6) {
        const pool6 = { subnet: this.pool.subnet6, gateway: this.pool.gateway6 ?? -1n };
        const taken = new Set(Object.values(f.allocations).map((a) => a.ip6).filter((x): x is string => !!x));
        v6 = ip6 !== undefined ? static6(pool6, taken, ip6) : next6(pool6, taken, f.last6);
        if (ip6 === undefined) f.last6 = v6;
        f.subnet6 = formatCidr6(this.pool.subnet6);
        if (this.pool.gateway6 !== undefined) f.gateway6 = formatIPv6(this.pool.gateway6);
      }
      f.allocations[chosen] = { ...alloc, ip: chosen, mac, ...(v6 ? { ip6: v6 } : {}) };
      if (ip === undefined) f.last = chosen;
      return { value: chosen, write: true };
    });
  }

  private checkStatic(f: IpamFile, ip: string): string {
    const n = parseIPv4(ip, 'IP address (--ip)');
    const s = formatIPv4(n);
    const { first, last } = hostRange(this.pool.subnet);
    if (!contains(this.pool.subnet, n)) throw invalid(`invalid --ip ${s}: not in the network's subnet ${formatCidr(this.pool.subnet)}`);
    if (n < first || n > last) throw invalid(`invalid --ip ${s}: the network or broadcast address of ${formatCidr(this.pool.subnet)}`);
    if (n === this.pool.gateway) throw conflict(`invalid --ip ${s}: it is the network's gateway`);
    const holder = f.allocations[s];
    if (holder) throw conflict(`address ${s} is already in use by container ${holder.container.slice(0, 12)}`);
    return s;
  }

  private next(f: IpamFile): string {
    // Every address of an --ip-range is usable (only the subnet's network and broadcast are not).
    const r = this.pool.range ? { first: this.pool.range.base, last: last(this.pool.range) } : hostRange(this.pool.subnet);
    const sub = hostRange(this.pool.subnet);
    const first = Math.max(r.first, sub.first);
    const lastIp = Math.min(r.last, sub.last);
    const span = lastIp - first + 1;
    const prev = f.last !== undefined ? parseIPv4(f.last) : first - 1;
    const start = prev >= first && prev <= lastIp ? prev - first + 1 : 0;
    // an address whose derived MAC a container took with --mac-address is skipped
    const macs = new Set(Object.values(f.allocations).map((a) => a.mac));
    for (let k = 0; k < span; k++) {
      const n = first + ((start + k) % span);
      if (n === this.pool.gateway) continue;
      const s = formatIPv4(n);
      if (!f.allocations[s] && !macs.has(macFromIPv4(n))) return s;
    }
    throw system(`no free address left in ${formatCidr(this.pool.range ?? this.pool.subnet)} (network ${this.networkId.slice(0, 12)}: ${Object.keys(f.allocations).length} allocated)`);
  }

  /** Releases the container's address; returns it, or undefined when it held none. */
  release(container: string): string | undefined {
    return withLockSync(this.lockFile, () => this.releaseHeld(container));
  }

  /** release() for a caller that holds the lock. */
  releaseHeld(container: string): string | undefined {
    return this.updateHeld((f) => {
      const a = Object.values(f.allocations).find((x) => x.container === container);
      if (!a) return { value: undefined, write: false };
      delete f.allocations[a.ip];
      return { value: a.ip, write: true };
    });
  }

  /** Releases every allocation whose owner is not in `keep`; returns the released ones. */
  releaseExcept(keep: ReadonlySet<string>): Allocation[] {
    return this.update((f) => {
      const gone = Object.values(f.allocations).filter((a) => !keep.has(a.container));
      for (const a of gone) delete f.allocations[a.ip];
      return { value: gone, write: gone.length > 0 };
    });
  }

  list(): Allocation[] {
    return Object.values(this.read().allocations);
  }

  find(container: string): Allocation | undefined {
    return this.list().find((a) => a.container === container);
  }

  /** Removes the file (the network is gone). */
  destroy(): void {
    rmQuiet(this.file);
    rmQuiet(this.lockFile);
  }
}

/** The pool of a network's stored config. */
export function poolOf(cfg: { subnet: string; gateway: string; ipRange?: string; subnet6?: string; gateway6?: string }): IpamPool {
  const p: IpamPool = { subnet: parseCidr(cfg.subnet), gateway: parseIPv4(cfg.gateway) };
  if (cfg.ipRange) p.range = parseCidr(cfg.ipRange);
  if (cfg.subnet6) p.subnet6 = parseCidr6(cfg.subnet6);
  if (cfg.gateway6) p.gateway6 = parseIPv6(cfg.gateway6);
  return p;
}

/** An Ipam whose lock the holder has: the *Held methods only. */
export class HeldIpam {
  constructor(private readonly ipam: Ipam) {}
  allocate(alloc: Omit<Allocation, 'ip' | 'ip6'>, ip?: string, ip6?: string): string {
    return this.ipam.allocateHeld(alloc, ip, ip6);
  }
  release(container: string): string | undefined {
    return this.ipam.releaseHeld(container);
  }
  list(): Allocation[] {
    return this.ipam.list();
  }
}
