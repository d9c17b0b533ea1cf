// NetworkManager: the network layer's one door for the engine, the Docker API and the CRI.
//
//   networks   create/remove/list/inspect/prune, connect/disconnect (a running container)
//   endpoints  attach(containerId, netnsPath, opts) -> {ip, gateway, mac, hostsFile, resolvConf}
//              detach(containerId), ports(containerId), reconcile(activeContainerIds)
//
// State (every file replaced atomically, every read-modify-write under a lock file):
//   <configDir>/networks/<id>.json     network definitions (persistent, fsync'd)
//   <runDir>/ipam/<id>.json            addresses in use per network, with DNS names (volatile:
//                                      /run; after a reboot no container holds an address)
//   <runDir>/endpoints/<cid>.json      a container's attachments (netns, links, ports, files)
//   <runDir>/ports.json                every published host port (conflict checks)
//   <runDir>/dns/<id>.pid|.log         the network's resolver process
// Lock order: endpoint -> network -> ipam; ports under endpoint only; networks.lock -> network.
// Every attach step pushes its undo; a failure runs them backwards (nothing is left half-made).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { firstHost, formatCidr, formatIPv4, isIPv4, macFromIPv4, normalizeMac, overlaps, parseCidr, parseIPv4, within, contains, hostRange, type Cidr } from './cidr.js';
import { conflict, inUse, invalid, isNetworkError, notFound, NetworkError } from './errors.js';
import { chooseResolv, hostsFile, parseAddHost, resolvConfFile, validHostname, writeEtcFiles, type HostEntry } from './etc-files.js';
import * as fw from './firewall.js';
import { readJson, readText, rmQuiet, writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { bridgePorts, defaultMtu, hostResolvConf, hostRoutes, linkExists, linkMaster, listeners, listLinks, setSysctl } from './host.js';
import { Ipam, poolOf } from './ipam.js';
import { parseCidr6, parseIPv6 } from './cidr6.js';
import { createBridge, createVeth, deleteLink, deleteLinks, loopbackOnly, startNetns, vethName } from './links.js';
import type { PendingPlan } from './netlink.js';
import { withLock, withLockSync } from './lock.js';
import { collides, expandPorts, parsePortSpec, type PortMapping, type PortSpec } from './ports.js';
import { ensureResolver, resolverPid, stopResolver } from './resolver-process.js';
import { resolveV6 } from './network6.js';
import { parseRate } from './tc.js';
import { CniNetworks, reconcileCni, type CniNetworkDef } from './cni-networks.js';
import { primaryIp, type CniConfList } from './cni.js';

export interface NetworkManagerOptions {
  /** Persistent network definitions (default /var/lib/berth/network). */
  configDir?: string;
  /** Volatile state: IPAM, endpoints, ports, resolvers (default /run/berth/network). */
  runDir?: string;
  /** berth's nftables table (inet family; default "berth"). */
  table?: string;
  /** The default network ("bridge"): its bridge and subnet (default 10.88.0.0/16, or the first of
   *  10.87-10.85.0.0/16 that no host route overlaps). */
  defaultBridge?: string;
  defaultSubnet?: string;
  /** Subnets for networks created without --subnet: /24s carved from this (default 10.89.0.0/16). */
  subnetPool?: string;
  /** User networks' bridges are <bridgePrefix><9 hex of the id> (default "berth-"). */
  bridgePrefix?: string;
  /** Host ends of veth pairs are <vethPrefix><hash> (default "bv"). */
  vethPrefix?: string;
  /** The resolver's port on the gateway address (53). */
  dnsPort?: number;
  /** The host's resolv.conf (upstreams and search domains). */
  resolvConf?: string;
  /** A network's resolver exits after this long without endpoints (default 30 s). */
  dnsIdleMs?: number;
  /** Where CNI plugins are looked for (CNI_PATH; default /usr/lib/cni, /opt/cni/bin). */
  cniPath?: string[];
}

export type NetworkDriver = 'bridge' | 'cni';

export interface NetworkCreateOptions {
  name: string;
  driver?: NetworkDriver;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  /** Dual stack (--ipv6): every container also gets an address from subnet6. */
  ipv6?: boolean;
  /** The v6 subnet (a ULA /64 derived from the id when absent); `subnet` may also be v6 with ipv6. */
  subnet6?: string;
  gateway6?: string;
  /** driver "cni": the conflist, as a file path or its JSON (text or object); or --opt conflist=PATH. */
  cni?: string | object;
  labels?: Record<string, string>;
  /**
   * --opt: "mtu" (or com.docker.network.driver.mtu), "isolate"=true (bridge port isolation: no
   * traffic between containers of the network; also com.docker.network.bridge.enable_icc=false),
   * "dns"=false (no embedded resolver), com.docker.network.bridge.name.
   */
  options?: Record<string, string>;
}

export interface Network {
  id: string;
  name: string;
  driver: NetworkDriver;
  bridge: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  mtu: number;
  /** Bridge port isolation between the network's containers. */
  isolate: boolean;
  /** Dual stack: the v6 subnet and gateway (absent on v4-only networks). */
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  /** driver "cni": the conflist its plugins run with (bridge, subnet and gateway are then empty). */
  cni?: CniConfList;
  /** An embedded resolver answers container names and aliases (user-defined networks). */
  dns: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  created: string;
  /** The default network ("bridge"): cannot be removed. */
  builtin: boolean;
}

export interface NetworkEndpointInfo {
  container: string;
  name: string;
  ip: string;
  mac: string;
  ip6?: string;
}

export interface NetworkInspect extends Network {
  containers: NetworkEndpointInfo[];
}

export interface AttachOptions {
  /** A network name or id; "bridge" (the default), "none" (loopback only) or "host" (files only). */
  network?: string;
  /** The container's name (the resolver answers it). */
  name?: string;
  hostname?: string;
  /** A static address (--ip). */
  ip?: string;
  /** A static IPv6 address (--ip6) on a dual-stack network. */
  ip6?: string;
  /** The interface's MAC address (--mac-address; unicast): default 02:42 + the IPv4 address. */
  mac?: string;
  /**
   * Egress rate limit of this attachment's interface: bytes per second, or tc units ("10mbit",
   * "1mibps"). Shapes what the container sends (tc.ts explains the choice).
   */
  egressRate?: string | number;
  /** --network-alias */
  aliases?: string[];
  /** -p specs ("127.0.0.1:8080:80/tcp") or parsed ones; published on this network's address. */
  ports?: (string | PortSpec)[];
  /** --dns, --dns-search, --dns-option */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --add-host host:ip (ip may be "host-gateway") */
  addHosts?: string[];
  /** Where hosts, resolv.conf and hostname are written (default <runDir>/containers/<id>). */
  filesDir?: string;
  /**
   * The engine: netnsPath does not exist yet; the first attach makes it there (a persistent,
   * bind-mounted netns) in the process that creates the links. The caller removes it.
   */
  createNetns?: boolean;
}

export interface AttachResult {
  networkId: string;
  network: string;
  /** Empty for none/host. */
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  /** The interface in the container (eth0, eth1, ...). */
  ifname: string;
  ports: PortMapping[];
  /** Dual-stack networks: the v6 address, its prefix length and the v6 gateway. */
  ip6?: string;
  prefixLen6?: number;
  gateway6?: string;
  /** The egress limit in bytes per second, when one was asked for. */
  egressRate?: number;
  hostsFile: string;
  resolvConf: string;
  hostnameFile: string;
}

interface Attachment {
  network: string;
  ip: string;
  mac: string;
  gateway: string;
  ifname: string;
  hostIf: string;
  aliases: string[];
  ports: PortMapping[];
  ip6?: string;
  gateway6?: string;
  egressRate?: number;
  /** Attached by CNI plugins (detach runs their DEL). */
  cni?: boolean;
}

interface EndpointRecord {
  container: string;
  name: string;
  hostname: string;
  netns: string;
  filesDir: string;
  mode: 'bridge' | 'none' | 'host';
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  attachments: Attachment[];
}

interface PortEntry extends PortMapping {
  container: string;
  network: string;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const RESERVED = new Set(['bridge', 'host', 'none', 'default']);
const DEFAULT_NAME = 'bridge';

class Undo {
  private steps: (() => unknown)[] = [];
  push(f: () => unknown): void {
    this.steps.push(f);
  }
  async run(): Promise<void> {
    for (const f of this.steps.reverse()) {
      try {
        await f();
      } catch {
        /* best effort: reconcile repairs what is left */
      }
    }
    this.steps = [];
  }
}

export class NetworkManager {
  readonly configDir: string;
  readonly runDir: string;
  readonly table: string;
  private readonly o: Required<Omit<NetworkManagerOptions, 'configDir' | 'runDir' | 'table' | 'cniPath'>>;
  private skeletonApplied = false;
  private readonly cniNets: CniNetworks;

  constructor(opts: NetworkManagerOptions = {}) {
    this.configDir = opts.configDir ?? '/var/lib/berth/network';
    this.runDir = opts.runDir ?? '/run/berth/network';
    this.table = fw.checkTableName(opts.table ?? fw.DEFAULT_TABLE);
    this.o = {
      defaultBridge: opts.defaultBridge ?? 'berth0',
      defaultSubnet: opts.defaultSubnet ?? '',
      subnetPool: opts.subnetPool ?? '10.89.0.0/16',
      bridgePrefix: opts.bridgePrefix ?? 'berth-',
      vethPrefix: opts.vethPrefix ?? 'bv',
      dnsPort: opts.dnsPort ?? 53,
      resolvConf: opts.resolvConf ?? '/etc/resolv.conf',
      dnsIdleMs: opts.dnsIdleMs ?? 30_000,
    };
    for (const d of [this.netDir, this.ipamDir, this.endpointDir, this.dnsDir]) mkdirSync(d, { recursive: true });
    // CNI results are kept with the definitions: host-local and other plugins keep persistent
    // state, so DEL must still find the result after a reboot
    this.cniNets = new CniNetworks(join(this.configDir, 'cni'), join(this.configDir, 'cni-results'), opts.cniPath);
  }

  private get netDir() {
    return join(this.configDir, 'networks');
  }
  private get ipamDir() {
    return join(this.runDir, 'ipam');
  }
  private get endpointDir() {
    return join(this.runDir, 'endpoints');
  }
  private get dnsDir() {
    return join(this.runDir, 'dns');
  }
  private netLock(id: string) {
    return join(this.runDir, `net-${id}.lock`);
  }
  /** A network's addresses, guarded by the network's lock. */
  private ipam(n: Network): Ipam {
    return new Ipam(this.ipamDir, n.id, poolOf(n), { lockFile: this.netLock(n.id) });
  }

  // ---- networks -------------------------------------------------------------------------------

  private readAll(): Network[] {
    let files: string[];
    try {
      files = readdirSync(this.netDir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const out: Network[] = [];
    for (const f of files) {
      const n = readJson<Network>(join(this.netDir, f));
      if (n) out.push(n);
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** One network's definition by full id (one file read, not every definition). */
  private readNet(id: string): Network | undefined {
    return /^[0-9a-f]{64}$/.test(id) ? readJson<Network>(join(this.netDir, `${id}.json`)) : undefined;
  }

  /** Finds a network by exact name, full id or unique id prefix. */
  find(ref: string): Network | undefined {
    const all = [...this.readAll(), ...this.cniNets.all().map(cniNetwork)];
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const byId = all.filter((n) => n.id.startsWith(ref));
    if (byId.length > 1) throw conflict(`network id prefix "${ref}" is ambiguous: ${byId.map((n) => n.name).join(', ')}`);
    return byId[0];
  }

  private get(ref: string): Network {
    if (ref === DEFAULT_NAME) return this.ensureDefault();
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  list(filter: { name?: string; label?: string } = {}): Network[] {
    this.ensureDefault();
    return [...this.readAll(), ...this.cniNets.all().map(cniNetwork)].filter((n) => {
      if (filter.name && !n.name.includes(filter.name)) return false;
      if (filter.label) {
        const [k, v] = filter.label.split('=');
        if (!(k! in n.labels) || (v !== undefined && n.labels[k!] !== v)) return false;
      }
      return true;
    });
  }

  inspect(ref: string): NetworkInspect {
    const n = this.get(ref);
    if (n.driver === 'cni') {
      const def = this.cniNets.find(n.id)!;
      return { ...n, containers: this.cniNets.users(def).map((u) => ({ container: u.container, name: '', ip: u.ip, mac: '' })) };
    }
    const containers = this.ipam(n).list().map((a) => ({ container: a.container, name: a.names[0] ?? '', ip: a.ip, mac: a.mac, ...(a.ip6 ? { ip6: a.ip6 } : {}) }));
    return { ...n, containers };
  }

  /** The default network, created (definition only) on first use. */
  private ensureDefault(): Network {
    // every default-bridge start asks: the id is kept in a small file beside the definitions, so
    // this reads two files, not every network's (a stale or missing pointer falls back to a scan)
    const pointer = join(this.configDir, 'default-network');
    const known = this.readNet(readText(pointer));
    if (known?.builtin) return known;
    const existing = this.readAll().find((n) => n.builtin);
    if (existing) {
      writeFileAtomic(pointer, existing.id);
      return existing;
    }
    return this.withNetworksLockSync(() => {
      const again = this.readAll().find((n) => n.builtin);
      if (again) return again;
      // An explicit default subnet must be free; the built-in one steps aside for the host's
      // (podman's default network is also 10.88.0.0/16), as docker's default bridge does.
      const candidates = this.o.defaultSubnet ? [this.o.defaultSubnet] : ['10.88.0.0/16', '10.87.0.0/16', '10.86.0.0/16', '10.85.0.0/16'];
      const routes = hostRoutes().filter((r) => r.iface !== this.o.defaultBridge);
      const subnet = candidates.map((c) => parseCidr(c, { what: 'default subnet' })).find((c) => !routes.some((r) => overlaps(r.dest, c)))
        ?? parseCidr(candidates[0]!, { what: 'default subnet' });
      const n: Network = {
        id: randomBytes(32).toString('hex'), name: DEFAULT_NAME, driver: 'bridge', bridge: this.o.defaultBridge,
        subnet: formatCidr(subnet), gateway: formatIPv4(firstHost(subnet)), internal: false, mtu: defaultMtu(), isolate: false,
        dns: false, labels: {}, options: {}, created: new Date().toISOString(), builtin: true,
      };
      this.checkOverlap(subnet, n.bridge);
      writeJsonAtomic(join(this.netDir, `${n.id}.json`), n, { fsync: true });
      writeFileAtomic(pointer, n.id);
      return n;
    });
  }

  private withNetworksLockSync<T>(fn: () => T): T {
    // Network definitions change rarely; a synchronous lock keeps ensureDefault() synchronous.
    return withLockSync(join(this.configDir, 'networks.lock'), fn);
  }

  private checkOverlap(subnet: Cidr, ownBridge?: string): void {
    for (const other of this.readAll()) {
      if (overlaps(subnet, parseCidr(other.subnet))) throw conflict(`subnet ${formatCidr(subnet)} overlaps with network ${other.name} (${other.subnet})`);
    }
    for (const r of hostRoutes()) {
      if (r.iface === ownBridge) continue;
      if (overlaps(subnet, r.dest)) throw conflict(`subnet ${formatCidr(subnet)} overlaps with the host's route to ${formatCidr(r.dest)} on ${r.iface}`);
    }
  }

  private autoSubnet(): Cidr {
    const pool = parseCidr(this.o.subnetPool, { what: 'subnet pool' });
    const taken = [...this.readAll().map((n) => parseCidr(n.subnet)), ...hostRoutes().map((r) => r.dest)];
    const prefix = Math.max(pool.prefix, 24);
    for (let base = pool.base; contains(pool, base); base = (base + 2 ** (32 - prefix)) >>> 0) {
      const c = { base, prefix };
      if (!taken.some((t) => overlaps(t, c))) return c;
      if (base + 2 ** (32 - prefix) > 0xffffffff) break;
    }
    throw conflict(`no free /${prefix} subnet left in the pool ${this.o.subnetPool}; pass --subnet`);
  }

  /** `berth network create`: validates everything, then creates the bridge and its rules. */
  async create(o: NetworkCreateOptions): Promise<Network> {
    if (!NAME_RE.test(o.name)) throw invalid(`invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (RESERVED.has(o.name)) throw conflict(`network name "${o.name}" is reserved (a pre-defined network)`);
    if (o.driver === 'cni') return this.createCni(o);
    if ((o.driver ?? 'bridge') !== 'bridge') throw invalid(`network driver "${o.driver}" is not supported; use "bridge" or "cni"`);
    // v6 arguments are checked here; the subnet is chosen under the networks lock below
    const v6in = resolveV6(o);
    const opts = { ...(o.options ?? {}) };
    const mtuOpt = opts.mtu ?? opts['com.docker.network.driver.mtu'];
    const mtu = mtuOpt === undefined ? defaultMtu() : Number(mtuOpt);
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw invalid(`invalid MTU "${mtuOpt}": expected 576-65535`);
    const isolate = opts.isolate === 'true' || opts['com.docker.network.bridge.enable_icc'] === 'false';
    const dns = opts.dns !== 'false';
    const explicitBridge = opts['com.docker.network.bridge.name'];
    if (explicitBridge !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(explicitBridge)) throw invalid(`invalid bridge name "${explicitBridge}" (1-15 characters)`);
    const subnet4 = v6in.subnet4;
    const gateway4 = v6in.gateway4;
    if (gateway4 && !subnet4) throw invalid('--gateway needs --subnet');
    if (o.ipRange && !subnet4) throw invalid('--ip-range needs --subnet');
    const given = subnet4 ? parseCidr(subnet4) : undefined;
    if (given && given.prefix > 30) throw invalid(`invalid subnet ${o.subnet}: too small (at most /30)`);
    const range = o.ipRange ? parseCidr(o.ipRange, { what: 'IP range' }) : undefined;
    if (given && range && !within(range, given)) throw invalid(`invalid --ip-range ${o.ipRange}: not inside the subnet ${o.subnet}`);
    if (given && gateway4) {
      const g = parseIPv4(gateway4, 'gateway');
      const hr = hostRange(given);
      if (!contains(given, g) || g < hr.first || g > hr.last) throw invalid(`invalid --gateway ${gateway4}: not a host address of ${subnet4}`);
    }

    const n = await withLock(join(this.configDir, 'networks.lock'), async () => {
      if (this.readAll().some((x) => x.name === o.name) || this.cniNets.find(o.name)) throw conflict(`network with name ${o.name} already exists`);
      const id = randomBytes(32).toString('hex');
      const bridge = explicitBridge ?? this.o.bridgePrefix + id.slice(0, 15 - this.o.bridgePrefix.length);
      if (this.readAll().some((x) => x.bridge === bridge) || linkExists(bridge)) throw conflict(`a link named ${bridge} already exists`);
      const subnet = given ?? this.autoSubnet();
      if (given) this.checkOverlap(given);
      const v6 = v6in.enabled ? v6in.choose(id, this.readAll()) : undefined;
      const net: Network = {
        id, name: o.name, driver: 'bridge', bridge, subnet: formatCidr(subnet),
        gateway: gateway4 ? formatIPv4(parseIPv4(gateway4)) : formatIPv4(firstHost(subnet)),
        ...(range ? { ipRange: formatCidr(range) } : {}),
        internal: !!o.internal, mtu, isolate, dns, labels: { ...(o.labels ?? {}) }, options: opts,
        created: new Date().toISOString(), builtin: false,
        ...(v6 ? { ipv6: true, subnet6: v6.subnet6, gateway6: v6.gateway6 } : {}),
      };
      await this.bringUp(net);
      try {
        writeJsonAtomic(join(this.configDir, 'networks', `${id}.json`), net, { fsync: true });
      } catch (e) {
        await this.tearDown(net).catch(() => {});
        throw e;
      }
      return net;
    });
    return n;
  }

  /** driver "cni": only a definition; the plugins make everything at attach. */
  private async createCni(o: NetworkCreateOptions): Promise<Network> {
    const src = o.cni ?? o.options?.conflist;
    if (src === undefined) throw invalid('a "cni" network needs its conflist: pass cni (a file path or the JSON) or --opt conflist=PATH');
    if (o.subnet || o.gateway || o.ipRange || o.ipv6 || o.internal) throw invalid('a "cni" network takes its addresses from its conflist: drop --subnet, --gateway, --ip-range, --ipv6 and --internal');
    return withLock(join(this.configDir, 'networks.lock'), async () => {
      if (this.readAll().some((x) => x.name === o.name) || this.cniNets.find(o.name)) throw conflict(`network with name ${o.name} already exists`);
      const { conflist: _c, ...opts } = o.options ?? {};
      return cniNetwork(this.cniNets.create({ name: o.name, conflist: src, labels: o.labels ?? {}, options: opts }));
    });
  }

  /** Creates the network's bridge, sysctls and nft elements (undone on failure). */
  private async bringUp(n: Network): Promise<void> {
    await createBridge({
      name: n.bridge, gateway: n.gateway, subnet: n.subnet, mtu: n.mtu, localnet: !n.internal,
      ...(n.subnet6 && n.gateway6 ? { subnet6: n.subnet6, gateway6: n.gateway6 } : {}),
    });
    try {
      if (!n.internal) setSysctl('net.ipv4.ip_forward', '1');
      // as docker does for --ipv6: routing between bridges (filtered by the forward chain) and out
      if (!n.internal && n.subnet6) setSysctl('net.ipv6.conf.all.forwarding', '1');
      await fw.apply(fw.skeleton(this.table) + fw.bridgeElements(this.table, 'add', { bridge: n.bridge, internal: n.internal }));
      this.skeletonApplied = true;
    } catch (e) {
      await deleteLink(n.bridge).catch(() => {});
      throw e;
    }
  }

  private async tearDown(n: Network): Promise<void> {
    stopResolver({ dir: this.dnsDir, networkId: n.id });
    const errs: string[] = [];
    await this.removeBridgeRules(n).catch((e: Error) => errs.push(e.message));
    await deleteLink(n.bridge).catch((e: Error) => errs.push(e.message));
    if (errs.length) throw new NetworkError('system', `removing network ${n.name}: ${errs.join('; ')}`);
  }

  private async removeBridgeRules(n: Pick<Network, 'bridge'>): Promise<void> {
    const st = await fw.readTable(this.table);
    if (!st.exists || !st.bridges.includes(n.bridge)) return;
    await fw.apply(fw.bridgeElements(this.table, 'delete', { bridge: n.bridge, internal: st.internal.includes(n.bridge) }));
  }

  /** The bridge exists (after a reboot it is re-created from the stored definition). Holds the network lock. */
  private async ensureUp(n: Network): Promise<void> {
    if (linkExists(n.bridge)) {
      if (!this.skeletonApplied && !n.internal) setSysctl('net.ipv4.ip_forward', '1');
      if (!this.skeletonApplied && !n.internal && n.subnet6) setSysctl('net.ipv6.conf.all.forwarding', '1');
      return;
    }
    await this.bringUp(n);
  }

  /** `berth network rm`: refuses while containers are attached. */
  async remove(ref: string): Promise<void> {
    const n = this.get(ref);
    if (n.builtin) throw conflict(`${n.name} is a pre-defined network and cannot be removed`);
    if (n.driver === 'cni') {
      const def = this.cniNets.find(n.id)!;
      return withLock(join(this.configDir, 'networks.lock'), () => {
        const users = this.cniNets.users(def);
        if (users.length) throw inUse(`network ${n.name} is in use by ${users.length} container(s): ${users.map((u) => u.container.slice(0, 12)).join(', ')}; disconnect or remove them first`);
        this.cniNets.remove(def);
      });
    }
    await withLock(join(this.configDir, 'networks.lock'), () =>
      withLock(this.netLock(n.id), async () => {
        const users = this.ipam(n).list();
        if (users.length) {
          throw inUse(`network ${n.name} is in use by ${users.length} container(s): ${users.map((u) => u.names[0] ?? u.container.slice(0, 12)).join(', ')}; disconnect or remove them first`);
        }
        rmQuiet(join(this.netDir, `${n.id}.json`));
        rmQuiet(this.ipam(n).file);
        await this.tearDown(n);
      }),
    );
  }

  /** `berth network prune`: removes user networks without containers; returns their names. */
  async prune(filter: { label?: string } = {}): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.list(filter)) {
      if (n.builtin || (n.driver === 'cni' ? this.inspect(n.id).containers.length : this.ipam(n).list().length)) continue;
      try {
        await this.remove(n.id);
        removed.push(n.name);
      } catch (e) {
        if (!isNetworkError(e, 'inuse')) throw e;
      }
    }
    return removed;
  }

  // ---- endpoints ------------------------------------------------------------------------------

  private endpointFile(cid: string) {
    return join(this.endpointDir, `${cid}.json`);
  }
  private readEndpoint(cid: string): EndpointRecord | undefined {
    return readJson<EndpointRecord>(this.endpointFile(cid));
  }
  private writeEndpoint(r: EndpointRecord): void {
    if (r.attachments.length === 0 && r.mode === 'bridge') rmQuiet(this.endpointFile(r.container));
    else writeJsonAtomic(this.endpointFile(r.container), r);
  }

  /**
   * Connects a container's netns to a network (the engine: before start, on a netns it made;
   * the CRI: on the sandbox's netns). A second call for another network adds eth1, ... (connect).
   */
  async attach(containerId: string, netnsPath: string, opts: AttachOptions = {}): Promise<AttachResult> {
    checkContainerId(containerId);
    const mode = opts.network === 'none' || opts.network === 'host' ? opts.network : 'bridge';
    // Validate every input before anything is made.
    const aliases = (opts.aliases ?? []).map((a) => {
      if (!validHostname(a)) throw invalid(`invalid --network-alias "${a}": not a valid DNS name`);
      return a;
    });
    const hostname = opts.hostname ?? containerId.slice(0, 12);
    if (!validHostname(hostname)) throw invalid(`invalid hostname "${hostname}"`);
    const name = (opts.name ?? '').replace(/^\//, '');
    if (name && !NAME_RE.test(name)) throw invalid(`invalid container name "${name}"`);
    for (const d of opts.dns ?? []) if (!isIPv4(d)) throw invalid(`invalid --dns "${d}": expected an IPv4 address`);
    const specs = (opts.ports ?? []).map((p) => (typeof p === 'string' ? parsePortSpec(p) : p));
    if (opts.ip !== undefined) parseIPv4(opts.ip, 'IP address (--ip)');
    if (opts.ip6 !== undefined) parseIPv6(opts.ip6, 'IPv6 address (--ip6)');
    const mac = opts.mac === undefined ? undefined : normalizeMac(opts.mac, 'MAC address (--mac-address)');
    const egressRate = opts.egressRate === undefined ? undefined : parseRate(opts.egressRate);
    if (mode !== 'bridge' && (specs.length || opts.ip || opts.ip6 || mac || aliases.length || egressRate)) {
      throw invalid(`--network ${mode} cannot be combined with -p, --ip, --ip6, --mac-address, --network-alias or an egress rate limit`);
    }
    for (const h of opts.addHosts ?? []) parseAddHost(h, '0.0.0.0');

    // The engine's new netns: its helper starts now and makes the namespace while the address is
    // allocated below; its plan follows (createVeth). Ended with the netns made on any other way
    // out, before the caller's cleanup removes that netns.
    const pending = mode === 'bridge' && opts.createNetns && !existsSync(netnsPath) ? startNetns(netnsPath) : undefined;
    try {
      return await this.attachLocked(containerId, netnsPath, opts, { mode, aliases, hostname, name, specs, mac, egressRate, pending });
    } finally {
      await pending?.cancel();
    }
  }

  private attachLocked(
    containerId: string, netnsPath: string, opts: AttachOptions,
    v: { mode: 'bridge' | 'none' | 'host'; aliases: string[]; hostname: string; name: string; specs: PortSpec[]; mac?: string; egressRate?: number; pending?: PendingPlan },
  ): Promise<AttachResult> {
    const { mode, aliases, hostname, name, specs, mac, egressRate, pending } = v;
    return withLock(join(this.endpointDir, `${containerId}.lock`), async () => {
      const prev = this.readEndpoint(containerId);
      if (prev && prev.netns !== netnsPath && prev.attachments.length) {
        throw conflict(`container ${containerId.slice(0, 12)} is attached through another netns (${prev.netns}); detach it first`);
      }
      const rec: EndpointRecord = prev ?? {
        container: containerId, name, hostname, netns: netnsPath, filesDir: opts.filesDir ?? join(this.runDir, 'containers', containerId),
        mode, dns: opts.dns ?? [], dnsSearch: opts.dnsSearch ?? [], dnsOptions: opts.dnsOptions ?? [], addHosts: opts.addHosts ?? [], attachments: [],
      };
      if (prev) {
        if (prev.mode !== 'bridge' || mode !== 'bridge') throw conflict(`container ${containerId.slice(0, 12)} uses --network ${prev.mode === 'bridge' ? mode : prev.mode}: it cannot join other networks`);
        if (opts.name) rec.name = name;
      }
      if (mode !== 'bridge') {
        if (mode === 'none') await loopbackOnly(netnsPath);
        const files = this.writeFiles(rec, undefined);
        this.writeEndpoint(rec);
        return { networkId: mode, network: mode, ip: '', prefixLen: 0, gateway: '', mac: '', ifname: mode === 'none' ? 'lo' : '', ports: [], ...files };
      }

      const net = this.get(opts.network ?? DEFAULT_NAME);
      if (rec.attachments.some((a) => a.network === net.id)) throw conflict(`container ${containerId.slice(0, 12)} is already connected to network ${net.name}`);
      if (net.driver === 'cni') {
        if (specs.length || opts.ip || opts.ip6 || mac || egressRate) throw invalid(`network ${net.name} is a CNI network: -p, --ip, --ip6, --mac-address and egress limits belong in its conflist (portmap, host-local/static, tuning, bandwidth plugins)`);
        await pending?.cancel(); // the plugins get the netns made
        return this.attachCni(rec, this.cniNets.find(net.id)!, aliases);
      }
      const undo = new Undo();
      try {
        // 1. the bridge, an address
        const ipam = this.ipam(net);
        const names = [...new Set([name, containerId.slice(0, 12), ...aliases].filter(Boolean).map((s) => s.toLowerCase()))];
        // One section under the network's lock: the bridge exists, an address, the resolver runs.
        const ip = await ipam.locked(async (held) => {
          if (!readJson<Network>(join(this.netDir, `${net.id}.json`))) throw notFound(`network ${net.name} was removed`);
          await this.ensureUp(net);
          const got = held.allocate({ container: containerId, names, mac: mac ?? '', dns: rec.dns }, opts.ip, opts.ip6);
          if (net.dns) {
            try {
              await ensureResolver({
                dir: this.dnsDir, networkId: net.id, ipamFile: ipam.file, address: net.gateway, port: this.o.dnsPort,
                resolvConf: this.o.resolvConf, forward: !net.internal, lockFile: ipam.lockFile, idleMs: this.o.dnsIdleMs,
              });
            } catch (e) {
              held.release(containerId);
              throw e;
            }
          }
          return got;
        });
        undo.push(() => ipam.release(containerId));
        const ifMac = mac ?? macFromIPv4(parseIPv4(ip));
        const primary = rec.attachments.length === 0;
        const ip6 = net.subnet6 ? ipam.find(containerId)?.ip6 : undefined;
        const att: Attachment = {
          network: net.id, ip, mac: ifMac, gateway: net.gateway, ifname: `eth${nextIfIndex(rec)}`,
          hostIf: vethName(this.o.vethPrefix, net.id, containerId), aliases, ports: [],
          ...(ip6 ? { ip6, gateway6: net.gateway6 } : {}),
          ...(egressRate ? { egressRate } : {}),
        };
        // 2. published ports (checked against berth's and the host's, then DNAT elements) and
        // 3. links: veth pair, addresses, routes (one berth-netlink process) -- concurrently.
        const publishing = specs.length && !net.internal ? this.publish(containerId, net, ip, specs, ip6) : Promise.resolve([]);
        const linking = createVeth(netnsPath, {
          bridge: net.bridge, hostIf: att.hostIf, ifname: att.ifname, mac: ifMac, ip, subnet: net.subnet, mtu: net.mtu,
          ...(primary && !net.internal ? { gateway: net.gateway } : {}), isolated: net.isolate,
          ...(ip6 && net.subnet6 ? { ip6, subnet6: net.subnet6, ...(!net.internal && !rec.attachments.some((a) => a.ip6) ? { gateway6: net.gateway6 } : {}) } : {}),
          ...(egressRate ? { egressRate } : {}),
        }, { createNetns: !!opts.createNetns && !existsSync(netnsPath), ...(pending ? { pending } : {}) });
        const [pub, link] = await Promise.allSettled([publishing, linking]);
        if (pub.status === 'fulfilled') {
          att.ports = pub.value;
          if (att.ports.length) undo.push(() => this.unpublish(containerId, net.id, ip, att.ports, ip6));
        }
        if (link.status === 'fulfilled') undo.push(() => deleteLink(att.hostIf));
        if (pub.status === 'rejected') throw pub.reason;
        if (link.status === 'rejected') throw link.reason;
        // 4. files, record
        rec.attachments.push(att);
        const files = this.writeFiles(rec, net);
        this.writeEndpoint(rec);
        return {
          networkId: net.id, network: net.name, ip, prefixLen: parseCidr(net.subnet).prefix, gateway: net.internal ? '' : net.gateway, mac: ifMac,
          ifname: att.ifname, ports: att.ports, ...files,
          ...(ip6 && net.subnet6 ? { ip6, prefixLen6: parseCidr6(net.subnet6).prefix, gateway6: net.internal ? '' : net.gateway6 ?? '' } : {}),
          ...(egressRate ? { egressRate } : {}),
        };
      } catch (e) {
        await undo.run();
        throw e;
      }
    });
  }

  /** attach() for a CNI network: the plugins' ADD (cni.ts), then the record and the files. Holds the endpoint lock. */
  private async attachCni(rec: EndpointRecord, def: CniNetworkDef, aliases: string[]): Promise<AttachResult> {
    const ifname = `eth${nextIfIndex(rec)}`;
    const rt = { containerId: rec.container, netns: rec.netns, ifname };
    const result = await this.cniNets.runner.add(def.conflist, rt);
    try {
      const p = primaryIp(result, ifname);
      if (!p) throw new NetworkError('system', `CNI network ${def.name} gave ${rec.container.slice(0, 12)} no IP address (does the conflist have an ipam section?)`);
      const mac = result.interfaces?.find((i) => i.name === ifname && i.sandbox)?.mac ?? '';
      rec.attachments.push({ network: def.id, ip: p.ip, mac, gateway: p.gateway, ifname, hostIf: '', aliases, ports: [], cni: true });
      // the plugins' DNS (e.g. a conflist's "dns" section) unless the container has its own --dns
      if (rec.attachments.length === 1 && !rec.dns.length && result.dns?.nameservers?.length) {
        rec.dns = result.dns.nameservers.filter(isIPv4);
        if (!rec.dnsSearch.length) rec.dnsSearch = result.dns.search ?? [];
        if (!rec.dnsOptions.length) rec.dnsOptions = result.dns.options ?? [];
      }
      // the files follow the primary network (the first attachment): its resolver, if any
      const files = this.writeFiles(rec, this.readNet(rec.attachments[0]!.network));
      this.writeEndpoint(rec);
      return { networkId: def.id, network: def.name, ip: p.ip, prefixLen: p.prefixLen, gateway: p.gateway, mac, ifname, ports: [], ...files };
    } catch (e) {
      await this.cniNets.runner.del(def.conflist, rt).catch(() => {});
      throw e;
    }
  }

  /** CNI CHECK for the container's CNI attachments (the CRI's health check); throws what a plugin reports. */
  async check(containerId: string): Promise<void> {
    checkContainerId(containerId);
    const rec = this.readEndpoint(containerId);
    if (!rec) throw notFound(`container ${containerId.slice(0, 12)} has no network attachments known to berth`);
    for (const a of rec.attachments.filter((x) => x.cni)) {
      const def = this.cniNets.find(a.network);
      if (!def) throw notFound(`CNI network ${a.network.slice(0, 12)} of container ${containerId.slice(0, 12)} is gone`);
      await this.cniNets.runner.check(def.conflist, { containerId, netns: rec.netns, ifname: a.ifname });
    }
  }

  /** A running container joins another network (docker network connect). */
  async connect(network: string, containerId: string, opts: Omit<AttachOptions, 'network' | 'filesDir'> = {}): Promise<AttachResult> {
    const rec = this.readEndpoint(containerId);
    if (!rec) throw notFound(`container ${containerId.slice(0, 12)} has no network namespace known to berth`);
    return this.attach(containerId, rec.netns, { ...opts, network });
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    const n = this.get(network);
    const rec = this.readEndpoint(containerId);
    if (!rec?.attachments.some((a) => a.network === n.id)) throw notFound(`container ${containerId.slice(0, 12)} is not connected to network ${n.name}`);
    await this.detach(containerId, { network: n.id });
  }

  /**
   * Undoes attach: links, ports, addresses; with `network`, only that network. Missing pieces are
   * fine (a netns that is already gone took its veth with it). `netnsGone`: the caller destroys
   * the netns right after (engine: the container exited; CRI: RemovePodSandbox), so its veths
   * are left to the kernel; reconcile() removes any that outlive a caller that broke the promise.
   */
  async detach(containerId: string, opts: { network?: string; netnsGone?: boolean } = {}): Promise<void> {
    checkContainerId(containerId);
    await withLock(join(this.endpointDir, `${containerId}.lock`), async () => {
      const rec = this.readEndpoint(containerId);
      const errs: string[] = [];
      const targets = rec?.attachments.filter((a) => !opts.network || a.network === opts.network) ?? [];
      // A netns that is gone takes its veth pairs with it, and the kernel deletes them in the
      // background in batches (10-30 ms each here when deleted one by one). With netnsGone the
      // caller promises to destroy the netns now, so berth does not wait for the kernel.
      const present = opts.netnsGone ? [] : targets.map((a) => a.hostIf).filter((l) => l && linkExists(l));
      // CNI attachments: the plugins' DEL (also with netnsGone: it releases their addresses)
      for (const a of targets.filter((x) => x.cni)) {
        const def = this.cniNets.find(a.network);
        if (!def) continue;
        const netns = rec && !opts.netnsGone && existsSync(rec.netns) ? rec.netns : '';
        await this.cniNets.runner.del(def.conflist, { containerId, netns, ifname: a.ifname }).catch((e: Error) => errs.push(e.message));
      }
      const unlinking = present.length ? deleteLinks(present).catch((e: Error) => errs.push(e.message)) : undefined;
      for (const a of targets) {
        if (a.ports.length) await this.unpublish(containerId, a.network, a.ip, a.ports, a.ip6).catch((e: Error) => errs.push(e.message));
      }
      // Addresses go back only once the links holding them are gone.
      await unlinking;
      for (const a of targets) {
        const net = this.readNet(a.network);
        // (the network's resolver stays for the next container; it exits by itself when idle)
        if (net) this.ipam(net).release(containerId);
      }
      if (rec) {
        rec.attachments = rec.attachments.filter((a) => !targets.includes(a));
        if (opts.network && rec.attachments.length) {
          this.writeFiles(rec, this.readNet(rec.attachments[0]!.network));
          this.writeEndpoint(rec);
        } else if (!opts.network) rmQuiet(this.endpointFile(containerId));
        else this.writeEndpoint(rec);
      } else if (!opts.network) {
        // No record (berth died between allocation and record): find its pieces by owner.
        const nets = this.readAll();
        const links = nets.map((n) => vethName(this.o.vethPrefix, n.id, containerId)).filter(linkExists);
        if (links.length) await deleteLinks(links).catch((e: Error) => errs.push(e.message));
        await this.unpublishAll(containerId).catch((e: Error) => errs.push(e.message));
        for (const n of nets) this.ipam(n).release(containerId);
      }
      if (errs.length) throw new NetworkError('system', `detach ${containerId.slice(0, 12)}: ${errs.join('; ')}`);
    });
  }

  /** `berth port`: the container's published ports. */
  ports(containerId: string): PortMapping[] {
    return this.readEndpoint(containerId)?.attachments.flatMap((a) => a.ports) ?? [];
  }

  /** The container's attachments (for inspect: NetworkSettings.Networks). */
  endpoints(containerId: string): { network: string; networkId: string; ip: string; mac: string; gateway: string; aliases: string[]; ifname: string; ip6?: string; gateway6?: string }[] {
    // no record: nothing attached; a record that cannot be read is an error, not "no address"
    let rec: EndpointRecord | undefined;
    try {
      rec = this.readEndpoint(containerId);
    } catch (e) {
      throw new NetworkError('system', `reading the endpoint record ${this.endpointFile(containerId)}: ${(e as Error).message}`);
    }
    if (!rec) return [];
    const all = [...this.readAll(), ...this.cniNets.all()];
    return rec.attachments.map((a) => ({
      network: all.find((n) => n.id === a.network)?.name ?? a.network, networkId: a.network, ip: a.ip, mac: a.mac, gateway: a.gateway, aliases: a.aliases, ifname: a.ifname,
      ...(a.ip6 ? { ip6: a.ip6, gateway6: a.gateway6 ?? '' } : {}),
    }));
  }

  private writeFiles(rec: EndpointRecord, primary: Network | undefined): { hostsFile: string; resolvConf: string; hostnameFile: string } {
    const host = hostResolvConf(this.o.resolvConf);
    const extra: HostEntry[] = rec.addHosts.map((h) => parseAddHost(h, primary?.gateway));
    const hosts = rec.mode === 'host'
      ? hostsFile({ hostname: rec.hostname, self: [], extra })
      : hostsFile({ hostname: rec.hostname, self: rec.attachments.flatMap((a) => [a.ip, ...(a.ip6 ? [a.ip6] : [])].map((ip) => ({ ip, names: rec.name ? [rec.name] : [] }))), extra });
    const resolv = resolvConfFile(chooseResolv({
      ...(primary?.dns ? { embedded: primary.gateway } : {}),
      dns: rec.dns, dnsSearch: rec.dnsSearch, dnsOptions: rec.dnsOptions, host,
    }));
    const p = writeEtcFiles(rec.filesDir, { hosts, resolvConf: resolv, hostname: `${rec.hostname}\n` });
    return { hostsFile: p.hosts, resolvConf: p.resolvConf, hostnameFile: p.hostname };
  }

  // ---- ports ----------------------------------------------------------------------------------

  private get portsFile() {
    return join(this.runDir, 'ports.json');
  }

  /** Why a host port is unavailable (published by berth, or bound by a host process), or undefined. */
  private takenBy(entries: PortEntry[]): (m: PortMapping) => string | undefined {
    const bound = listeners();
    return (m) => {
      const owner = entries.find((e) => collides(e, m));
      if (owner) return `published by container ${owner.container.slice(0, 12)} as ${owner.hostIp || '0.0.0.0'}:${owner.hostPort}`;
      const l = bound.find((b) => b.proto === m.proto && b.port === m.hostPort && (b.ip === '' || m.hostIp === '' || b.ip === m.hostIp));
      if (l) return `a host process listens on ${l.ip || '0.0.0.0'}:${l.port}/${l.proto}`;
      return undefined;
    };
  }

  /**
   * Throws the conflict publish() would throw for these specs now (docker's "port is already
   * allocated"), without taking anything: lets create refuse before it makes volumes. publish()
   * checks again under the lock at start.
   */
  checkPorts(ports: (string | PortSpec)[]): void {
    const specs = ports.map((p) => (typeof p === 'string' ? parsePortSpec(p) : p));
    if (!specs.some((s) => s.host)) return; // random host ports cannot conflict
    expandPorts(specs, this.takenBy(readJson<{ entries: PortEntry[] }>(this.portsFile)?.entries ?? []));
  }

  private async publish(containerId: string, net: Network, ip: string, specs: PortSpec[], ip6?: string): Promise<PortMapping[]> {
    return withLock(join(this.runDir, 'ports.lock'), async () => {
      const entries = readJson<{ entries: PortEntry[] }>(this.portsFile)?.entries ?? [];
      const mappings = expandPorts(specs, this.takenBy(entries));
      const elements = fw.portElements(this.table, 'create', containerId, ip, mappings, ip6);
      try {
        await fw.apply(elements);
      } catch (e) {
        if (isNetworkError(e, 'conflict')) throw conflict(`cannot publish ${mappings.map((x) => `${x.hostIp || '0.0.0.0'}:${x.hostPort}/${x.proto}`).join(', ')}: already in berth's nft table (${e.message}): a container of another --root publishes it; removing that container (berth rm -f) releases it`);
        // berth's table is gone (flushed by hand?): restore it, then retry once.
        await this.repairTable();
        await fw.apply(elements);
      }
      try {
        writeJsonAtomic(this.portsFile, { entries: [...entries, ...mappings.map((m) => ({ ...m, container: containerId, network: net.id }))] });
      } catch (e) {
        await fw.apply(fw.portElements(this.table, 'delete', containerId, ip, mappings, ip6)).catch(() => {});
        throw e;
      }
      return mappings;
    });
  }

  private async unpublish(containerId: string, networkId: string, ip: string, mappings: PortMapping[], ip6?: string): Promise<void> {
    await withLock(join(this.runDir, 'ports.lock'), async () => {
      try {
        await fw.apply(fw.portElements(this.table, 'delete', containerId, ip, mappings, ip6));
      } catch {
        // Some elements are already gone: delete those that are still there, one transaction.
        const st = await fw.readTable(this.table);
        await fw.apply(fw.deleteElements(this.table, st.ports.filter((p) => p.container === containerId)));
      }
      const entries = readJson<{ entries: PortEntry[] }>(this.portsFile)?.entries ?? [];
      writeJsonAtomic(this.portsFile, { entries: entries.filter((e) => !(e.container === containerId && e.network === networkId)) });
    });
  }

  /** Removes every port element and entry of a container (by the elements' comments). */
  private async unpublishAll(containerId: string): Promise<void> {
    await withLock(join(this.runDir, 'ports.lock'), async () => {
      const st = await fw.readTable(this.table);
      const mine = st.ports.filter((p) => p.container === containerId);
      if (mine.length) await fw.apply(fw.deleteElements(this.table, mine));
      const entries = readJson<{ entries: PortEntry[] }>(this.portsFile)?.entries ?? [];
      if (entries.some((e) => e.container === containerId)) writeJsonAtomic(this.portsFile, { entries: entries.filter((e) => e.container !== containerId) });
    });
  }

  // ---- crash repair ---------------------------------------------------------------------------

  /** Re-applies the table's rules and every known network's bridge elements (one transaction). */
  async repairTable(): Promise<void> {
    const st = await fw.readTable(this.table);
    let script = fw.skeleton(this.table);
    for (const n of this.readAll()) {
      if (!linkExists(n.bridge) || st.bridges.includes(n.bridge)) continue;
      script += fw.bridgeElements(this.table, 'add', { bridge: n.bridge, internal: n.internal });
    }
    await fw.apply(script);
    this.skeletonApplied = true;
  }

  /**
   * After a crash or a reboot: everything of containers not in `active` goes -- endpoint records,
   * addresses, port elements, host veths on berth's bridges, idle resolvers; bridges of known
   * networks come back with their rules. Returns what it removed. `active` may be a Set whose
   * has() decides when asked (a container starting meanwhile is then kept). `links: false`
   * leaves veths alone: a veth without an endpoint record may be one a start is making now; the
   * kernel deletes a dead container's pair with its netns anyway.
   */
  async reconcile(active: Iterable<string>, o: { links?: boolean } = {}): Promise<{ containers: string[]; links: string[]; rules: number }> {
    const keep: ReadonlySet<string> = active instanceof Set ? active : new Set(active);
    const links = o.links ?? true;
    const removed = { containers: [] as string[], links: [] as string[], rules: 0 };
    let files: string[] = [];
    try {
      files = readdirSync(this.endpointDir).filter((f) => f.endsWith('.json'));
    } catch {
      /* none */
    }
    for (const f of files) {
      const cid = f.slice(0, -5);
      if (keep.has(cid)) continue;
      await this.detach(cid).catch(() => {});
      rmQuiet(this.endpointFile(cid));
      removed.containers.push(cid);
    }
    for (const cid of await reconcileCni(this.cniNets, keep)) if (!removed.containers.includes(cid)) removed.containers.push(cid);
    const nets = this.readAll();
    const liveIfs = new Set<string>();
    for (const f of files) {
      const rec = this.readEndpoint(f.slice(0, -5));
      for (const a of rec?.attachments ?? []) liveIfs.add(a.hostIf);
    }
    for (const n of nets) {
      for (const a of this.ipam(n).releaseExcept(keep)) if (!removed.containers.includes(a.container)) removed.containers.push(a.container);
      await withLock(this.netLock(n.id), async () => {
        if (linkExists(n.bridge) || this.ipam(n).list().length) await this.ensureUp(n);
        const stray = links ? bridgePorts(n.bridge).filter((l) => l.startsWith(this.o.vethPrefix) && !liveIfs.has(l)) : [];
        if (stray.length) {
          await deleteLinks(stray);
          removed.links.push(...stray);
        }
        if (n.dns && this.ipam(n).list().length === 0 && resolverPid({ dir: this.dnsDir, networkId: n.id })) stopResolver({ dir: this.dnsDir, networkId: n.id });
      });
    }
    // Host veths of berth whose bridge is gone or unknown (master none) and named like ours.
    const bridges = new Set(nets.map((n) => n.bridge));
    for (const l of links ? listLinks() : []) {
      if (!l.startsWith(this.o.vethPrefix) || liveIfs.has(l) || l.length !== 15) continue;
      const m = linkMaster(l);
      if (m && bridges.has(m) && !removed.links.includes(l)) {
        await deleteLink(l).catch(() => {});
        removed.links.push(l);
      }
    }
    // nft: the table and its rules as they must be; port elements of gone containers and bridge
    // elements of unknown bridges out.
    await this.repairTable();
    const st = await fw.readTable(this.table);
    if (st.exists) {
      const stalePorts = st.ports.filter((p) => !keep.has(p.container));
      let script = fw.deleteElements(this.table, stalePorts);
      for (const b of st.bridges.filter((b) => !bridges.has(b))) script += fw.bridgeElements(this.table, 'delete', { bridge: b, internal: st.internal.includes(b) });
      if (script) {
        await fw.apply(script);
        removed.rules = stalePorts.length;
      }
    }
    await withLock(join(this.runDir, 'ports.lock'), () => {
      const entries = readJson<{ entries: PortEntry[] }>(this.portsFile)?.entries ?? [];
      const kept = entries.filter((e) => keep.has(e.container));
      if (kept.length !== entries.length) writeJsonAtomic(this.portsFile, { entries: kept });
    });
    return removed;
  }

  /**
   * Removes everything this manager made on the host: every network's bridge and resolver, the
   * nft table, the state directories' contents. For tests and `berth system reset`.
   */
  async destroyAll(): Promise<void> {
    const nets = this.readAll();
    for (const f of safeReaddir(this.endpointDir).filter((x) => x.endsWith('.json'))) await this.detach(f.slice(0, -5)).catch(() => {});
    for (const n of nets) {
      stopResolver({ dir: this.dnsDir, networkId: n.id });
      await deleteLink(n.bridge).catch(() => {});
      this.ipam(n).destroy();
      rmQuiet(join(this.netDir, `${n.id}.json`));
    }
    for (const d of this.cniNets.all()) this.cniNets.remove(d);
    const st = await fw.readTable(this.table);
    if (st.exists) await fw.apply(fw.deleteTable(this.table));
  }
}

function safeReaddir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** A CNI network as the API shows networks (no bridge, subnet or gateway of berth's). */
function cniNetwork(d: CniNetworkDef): Network {
  const ipam = d.conflist.plugins.map((p) => p.ipam as { subnet?: string; ranges?: { subnet?: string }[][] } | undefined).find(Boolean);
  const subnet = ipam?.subnet ?? ipam?.ranges?.[0]?.[0]?.subnet ?? '';
  return {
    id: d.id, name: d.name, driver: 'cni', bridge: '', subnet, gateway: '', internal: false, mtu: 0, isolate: false, dns: false,
    labels: d.labels, options: d.options, created: d.created, builtin: false, cni: d.conflist,
  };
}

function nextIfIndex(rec: EndpointRecord): number {
  const used = new Set(rec.attachments.map((a) => a.ifname));
  let i = 0;
  while (used.has(`eth${i}`)) i++;
  return i;
}

function checkContainerId(id: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id)) throw invalid(`invalid container id "${id}"`);
}
