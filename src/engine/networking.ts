// The engine's side of networking: each bridge-networked container gets a persistent network
// namespace, bind-mounted at /run/berth/network/netns/<id>, attached once through NetworkManager when it
// starts and joined by path by its spec -- so restarts by the monitor's restart policy keep the
// same address -- and released (detach, unmount, IPAM, port rules) when it stops for good:
// by the engine's cleanup (the monitor's exit command, stop, rm) and by the first network
// operation of a later berth process after a crash (kill -9, a wiped state directory).
//
// Network state is host-wide like the bridges and the nft table it describes: every --root
// shares /var/lib/berth/network and /run/berth/network (NetworkManager's defaults), so two roots
// never hand out the same address on berth0. A root only ever releases its own containers.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseResolv, hostsFile, parseAddHost, resolvConfFile } from '../network/etc-files.js';
import { isNetworkError, NetworkError } from '../network/errors.js';
import { rmQuiet, writeFileAtomic } from '../network/fsutil.js';
import { hostResolvConf } from '../network/host.js';
import { withLock } from '../network/lock.js';
import { NetworkManager } from '../network/manager.js';
import type { PortMapping } from '../network/ports.js';
import { EngineError, type EngineErrorKind } from './errors.js';
import { shortId } from './ids.js';
import { createNetns, removeNetns } from './netns.js';
import { netnsPathOf, networkKind } from './networking-options.js';
import type { Paths } from './paths.js';
import type { ContainerRecord } from './types.js';
import { checkEndpointFits } from './network-fit.js';
import { networkStale, starterAlive, starterMark } from './network-stale.js';
import { reconcileAfterBoot } from './network-boot.js';

let shared: NetworkManager | undefined;
/** The host's network manager (one per process: it caches that berth's nft table is in place). */
export function networkManager(): NetworkManager {
  shared ??= new NetworkManager();
  return shared;
}

/** A network library error as the engine's (docker's exit codes follow the kind). */
export function engineError(e: unknown): unknown {
  if (!(e instanceof NetworkError)) return e;
  const kind: EngineErrorKind = e.kind === 'inuse' ? 'conflict' : e.kind;
  return new EngineError(kind, e.message);
}

export async function wrap<T>(p: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (e) {
    throw engineError(e);
  }
}

export class EngineNetworking {
  private reconciled = false;

  /**
   * `active(id)`: whether this root's container is up (or being started by a live process), so
   * its network must stay; `lookup(ref)`: a container of this root, for container:NAME.
   */
  constructor(
    private readonly paths: Paths,
    private readonly warn: (m: string) => void,
    private readonly active: (id: string) => boolean,
    private readonly known: (id: string) => boolean,
    private readonly lookup: (ref: string) => ContainerRecord,
  ) {}

  get manager(): NetworkManager {
    return networkManager();
  }

  /**
   * Host-wide like the rest of the network state (outside any --state-root, so wiping one never
   * meets a mount point); container ids are unique across roots.
   */
  get netnsDir(): string {
    return join(this.manager.runDir, 'netns');
  }
  netnsPath(id: string): string {
    return join(this.netnsDir, id);
  }
  /**
   * The path setUp() resolves to, when it is known before setUp() is done: a bridge network's
   * netns (its helper is still making it), so the engine compiles the launch plan meanwhile.
   */
  plannedNetns(rec: ContainerRecord): string | undefined {
    return networkKind(rec.hostConfig.NetworkMode) === 'bridge' ? this.netnsPath(rec.id) : undefined;
  }
  private ownerFile(id: string): string {
    return join(this.netnsDir, `${id}.owner`);
  }
  /** This root's, or a root that no longer exists (a removed test root): no one else will release it. */
  private mine(id: string): boolean {
    try {
      const owner = readFileSync(this.ownerFile(id), 'utf8');
      return owner === this.paths.root || !existsSync(owner);
    } catch {
      return false;
    }
  }
  private marker(id: string): string {
    return join(this.netnsDir, `${id}.starting`);
  }
  private endpointFile(id: string): string {
    return join(this.manager.runDir, 'endpoints', `${id}.json`);
  }

  /**
   * At create: a named network must exist, container:NAME must name a container (stored by id,
   * as docker does), a netns path must exist. Returns the mode to store.
   */
  resolveMode(mode: string, hc?: ContainerRecord['hostConfig']): string {
    switch (networkKind(mode)) {
      case 'container': {
        const other = this.lookup(mode.slice('container:'.length));
        return `container:${other.id}`;
      }
      case 'path':
        if (!existsSync(netnsPathOf(mode))) throw new EngineError('notfound', `network namespace ${netnsPathOf(mode)} not found`);
        return mode;
      case 'bridge': {
        if (mode === 'bridge') return mode;
        let n;
        try {
          n = this.manager.find(mode);
        } catch (e) {
          throw engineError(e);
        }
        if (!n) throw new EngineError('notfound', `network ${mode} not found`);
        if (hc) checkEndpointFits(n, hc);
        return n.name;
      }
      default:
        return mode;
    }
  }

  /**
   * Before a start: the container's network namespace path for its spec (undefined: the runtime
   * makes a fresh one, or none for host). Bridge networks: a new persistent netns, attached.
   */
  async setUp(rec: ContainerRecord): Promise<string | undefined> {
    const hc = rec.hostConfig;
    const mode = hc.NetworkMode;
    switch (networkKind(mode)) {
      case 'none':
      case 'host':
        this.writeExtras(rec);
        return undefined;
      case 'path': {
        const p = netnsPathOf(mode);
        if (!existsSync(p)) throw new EngineError('notfound', `network namespace ${p} not found`);
        this.writeExtras(rec);
        return p;
      }
      case 'container': {
        const other = this.lookup(mode.slice('container:'.length));
        if (other.state !== 'running' && other.state !== 'paused') throw new EngineError('conflict', `cannot join network of a non running container: ${shortId(other.id)}`);
        // share its /etc files too, as docker does
        for (const f of ['hosts', 'resolv.conf']) {
          try {
            writeFileSync(join(this.paths.containerDir(rec.id), f), readFileSync(join(this.paths.containerDir(other.id), f)));
          } catch {
            /* keep ours */
          }
        }
        const own = this.netnsPath(other.id);
        return existsSync(own) ? own : `/proc/${other.pid}/ns/net`;
      }
      case 'bridge':
        break;
    }
    await this.reconcileStale();
    mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
    // "being started by me": a concurrent berth's reconcile leaves this one alone (written whole: network-stale.ts)
    writeFileAtomic(this.marker(rec.id), starterMark());
    const path = this.netnsPath(rec.id);
    await this.release(rec.id); // a previous run's, not released (nothing to do: three stat calls)
    // whose it is, should its record go before its network does (a crash inside cleanup)
    writeFileAtomic(this.ownerFile(rec.id), this.paths.root);
    try {
      // the netns is made by the process that makes the links (createNetns); CNI plugins are
      // handed a netns path, so for a CNI network it must exist before the attach
      // (the default network is berth's own bridge: no need to read every definition to know)
      const cni = mode !== 'bridge' && safe(() => this.manager.find(mode)?.driver === 'cni', false);
      if (cni) await createNetns(path);
      await wrap(this.manager.attach(rec.id, path, {
        network: mode, name: rec.name, hostname: rec.spec.hostname ?? shortId(rec.id),
        ...(hc.NetworkEndpoint?.IPv4Address ? { ip: hc.NetworkEndpoint.IPv4Address } : {}),
        ...(hc.NetworkEndpoint?.IPv6Address ? { ip6: hc.NetworkEndpoint.IPv6Address } : {}),
        ...(hc.NetworkEndpoint?.MacAddress ? { mac: hc.NetworkEndpoint.MacAddress } : {}),
        ...(hc.NetworkEndpoint?.EgressRate ? { egressRate: hc.NetworkEndpoint.EgressRate } : {}),
        aliases: hc.NetworkEndpoint?.Aliases ?? [], ports: portSpecs(rec),
        dns: hc.Dns ?? [], dnsSearch: hc.DnsSearch ?? [], dnsOptions: hc.DnsOptions ?? [], addHosts: hc.ExtraHosts ?? [],
        filesDir: this.paths.containerDir(rec.id), createNetns: !cni,
      }));
    } catch (e) {
      await removeNetns(path).catch(() => {});
      if (!existsSync(path)) rmQuiet(this.ownerFile(rec.id));
      this.started(rec.id);
      throw e;
    }
    return path;
  }

  /** Refuses (docker's "port is already allocated") host ports another container or process holds now: create calls it before making anything. */
  checkPorts(rec: Pick<ContainerRecord, 'hostConfig' | 'config'>): void {
    if (networkKind(rec.hostConfig.NetworkMode) !== 'bridge') return;
    const ports = portSpecs(rec as ContainerRecord);
    try {
      if (ports.length) this.manager.checkPorts(ports);
    } catch (e) {
      throw engineError(e);
    }
  }

  /** Whether the container holds something a next container may ask for by value: host ports, --ip, --mac-address. */
  holdsReusable(rec: ContainerRecord): boolean {
    const hc = rec.hostConfig;
    return networkKind(hc.NetworkMode) === 'bridge' && (!!hc.PublishAllPorts || Object.keys(hc.PortBindings ?? {}).length > 0 || !!hc.NetworkEndpoint?.IPv4Address || !!hc.NetworkEndpoint?.IPv6Address || !!hc.NetworkEndpoint?.MacAddress);
  }

  /**
   * rm of a record that never got a monitor: a start killed (kill -9 of the CLI) after its network
   * was set up leaves the netns, its veth and address with a `created` record that has nothing
   * to clean. Released here unless a live berth is still starting it (its failure path releases).
   * The dead starter's netlink helpers died with it (berth-netlink.c die_with_parent), so nothing
   * is added after this. Nothing left: four failed stat/open calls.
   */
  async releaseAbandoned(id: string): Promise<void> {
    if (this.starting(id)) return;
    await this.release(id, () => !this.starting(id) && !this.active(id));
    this.started(id);
  }

  /** The start is over (the container runs, or its start failed and was released). */
  started(id: string): void {
    rmQuiet(this.marker(id)); // unlink: fs.rmSync runs node's rimraf, several calls for one file
  }

  /**
   * Releases everything a container holds on the network: addresses, port rules, links (they go
   * with the netns), the netns. Idempotent and cheap when there is nothing (three stat calls).
   * On return the netns is unmounted too (netns.ts: through the storage helper, no process start).
   */
  async release(id: string, stillStale?: () => boolean): Promise<void> {
    const path = this.netnsPath(id);
    if (!existsSync(path) && !existsSync(this.endpointFile(id)) && !existsSync(this.ownerFile(id))) return;
    mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
    // one releaser at a time (the monitor's cleanup and a waiting `run --rm` race); the second
    // finds nothing left to do
    await withLock(join(this.netnsDir, `${id}.lock`), () => (stillStale && !stillStale() ? undefined : this.releaseLocked(id, path)));
  }

  private async releaseLocked(id: string, path: string): Promise<void> {
    const hasNs = existsSync(path);
    const hasEndpoint = existsSync(this.endpointFile(id));
    // The unmount (a request to the storage helper, another process) runs while this thread
    // does the detach's file work; the kernel frees the namespace and its veth pair on its own.
    // A detach that fails leaves the owner file, and the next release or reconcile detaches
    // again without the netns (netnsGone false: it looks for the links, gone with it).
    const unmounting = hasNs ? removeNetns(path).catch((e: Error) => this.warn(`removing the network namespace of ${shortId(id)}: ${e.message}`)) : undefined;
    try {
      // The owner file goes once the detach is done: a netns left without it (its unmount failed)
      // needs no second detach, which would search for its pieces.
      if (hasEndpoint || existsSync(this.ownerFile(id))) {
        try {
          // netnsGone: the kernel takes the veth pair with the namespace, unmounted meanwhile
          await this.manager.detach(id, { netnsGone: hasNs });
        } catch (e) {
          if (!isNetworkError(e, 'notfound')) {
            this.warn(`releasing the network of ${shortId(id)}: ${(e as Error).message}`);
            return; // the owner file stays: the next release or reconcile tries again
          }
        }
        rmQuiet(this.ownerFile(id));
      }
    } finally {
      await unmounting;
    }
  }


  /**
   * Once per process, before the first network operation: after a boot or a wiped /run, the
   * host's stale network state (network-boot.ts: one file read when done already); then the
   * networks of this root's containers that are down but were not released (berth or the host
   * was killed meanwhile).
   */
  async reconcileStale(): Promise<void> {
    if (this.reconciled) return;
    this.reconciled = true;
    await reconcileAfterBoot(this.manager, { netnsDir: this.netnsDir, removeNetns, warn: this.warn });
    let names: string[];
    try {
      names = readdirSync(this.netnsDir);
    } catch {
      return;
    }
    for (const f of names) {
      if (!/^[0-9a-f]{64}(\.starting|\.owner)?$/.test(f)) continue; // locks and their temp files
      if (f.endsWith('.owner')) {
        // attached (maybe) but its netns never made: a crash inside a start
        const id = f.slice(0, 64);
        const stale = () => this.stale(id, (x) => this.mine(x));
        if (!names.includes(id) && stale()) await this.release(id, stale);
        continue;
      }
      if (f.endsWith('.starting')) {
        const id = f.slice(0, -'.starting'.length);
        if (!this.starting(id)) rmQuiet(join(this.netnsDir, f));
        continue;
      }
      // another root's container, or one of this root's that is up or being started: not ours to judge
      const stale = () => this.stale(f);
      if (stale()) await this.release(f, stale);
    }
  }

  /** A live berth process is starting this container. */
  private starting(id: string): boolean {
    return starterAlive(this.marker(id));
  }

  /** Asked in network-stale.ts's order (the marker before the store), again under the release lock. */
  private stale(id: string, ours = (x: string) => this.known(x) || this.mine(x)): boolean {
    return networkStale(id, { ours, starting: (x) => this.starting(x), active: (x) => this.active(x) });
  }

  /** --dns, --dns-search, --dns-option, --add-host for containers without a bridge network. */
  private writeExtras(rec: ContainerRecord): void {
    const hc = rec.hostConfig;
    const dir = this.paths.containerDir(rec.id);
    if (hc.ExtraHosts?.length) {
      const extra = hc.ExtraHosts.map((h) => parseAddHost(h, '127.0.0.1'));
      if (hc.NetworkMode === 'host') writeFileSync(join(dir, 'hosts'), readFileSync('/etc/hosts', 'utf8') + extra.map((e) => `${e.ip}\t${e.host}\n`).join(''));
      else writeFileSync(join(dir, 'hosts'), hostsFile({ hostname: rec.spec.hostname ?? shortId(rec.id), self: [], extra }));
    }
    if (hc.Dns?.length || hc.DnsSearch?.length || hc.DnsOptions?.length) {
      writeFileSync(join(dir, 'resolv.conf'), resolvConfFile(chooseResolv({ dns: hc.Dns ?? [], dnsSearch: hc.DnsSearch ?? [], dnsOptions: hc.DnsOptions ?? [], host: hostResolvConf() })));
    }
  }
}

/** The -p bindings and, with -P, every other exposed port, as the library's port specs. */
export function portSpecs(rec: ContainerRecord): string[] {
  const out: string[] = [];
  const b = rec.hostConfig.PortBindings ?? {};
  for (const [key, list] of Object.entries(b)) for (const x of list) out.push(`${x.HostIp}:${x.HostPort}:${key}`);
  if (rec.hostConfig.PublishAllPorts) {
    for (const key of Object.keys(rec.config.ExposedPorts ?? {})) if (!b[key]) out.push(`::${key.includes('/') ? key : `${key}/tcp`}`);
  }
  return out;
}

/** The container's published ports (empty unless it runs on a bridge network). */
export function publishedPorts(id: string): PortMapping[] {
  try {
    return networkManager().ports(id);
  } catch {
    return [];
  }
}

/** docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp". */
export function portsText(rec: ContainerRecord, running: boolean): string {
  const ports = running ? publishedPorts(rec.id) : [];
  const parts = ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`);
  const published = new Set(ports.map((p) => `${p.containerPort}/${p.proto}`));
  for (const k of Object.keys(rec.config.ExposedPorts ?? {})) if (!published.has(k)) parts.push(k);
  return parts.join(', ');
}

/** docker inspect's NetworkSettings. */
export function networkSettings(rec: ContainerRecord, running: boolean): Record<string, unknown> {
  const netnsPath = join(networkManager().runDir, 'netns', rec.id);
  const mode = rec.hostConfig.NetworkMode;
  const kind = networkKind(mode);
  const nm = kind === 'bridge' ? networkManager() : undefined;
  // a record that cannot be read fails inspect with the file's name (never "no address")
  const eps = running && nm ? sync(() => nm.endpoints(rec.id)) : [];
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const k of Object.keys(rec.config.ExposedPorts ?? {})) ports[k] = null;
  for (const p of running ? publishedPorts(rec.id) : []) (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  const prefix = (networkId: string) => {
    const n = nm ? safe(() => nm.find(networkId), undefined) : undefined;
    return n?.subnet ? Number(n.subnet.split('/')[1]) : 0; // a CNI network's may be empty
  };
  const ne = rec.hostConfig.NetworkEndpoint;
  const ipam = ne?.IPv4Address || ne?.IPv6Address ? { ...(ne.IPv4Address ? { IPv4Address: ne.IPv4Address } : {}), ...(ne.IPv6Address ? { IPv6Address: ne.IPv6Address } : {}) } : null;
  const prefix6 = (networkId: string) => {
    const s6 = nm ? safe(() => nm.find(networkId)?.subnet6, undefined) : undefined;
    return s6 ? Number(s6.split('/')[1]) : 0;
  };
  const endpoint = (e?: (typeof eps)[number], name = mode) => ({
    IPAMConfig: ipam, Links: null,
    Aliases: e ? [...new Set([...e.aliases, shortId(rec.id)])] : rec.hostConfig.NetworkEndpoint?.Aliases ?? null,
    MacAddress: e?.mac ?? rec.hostConfig.NetworkEndpoint?.MacAddress ?? '', NetworkID: e?.networkId ?? (nm ? safe(() => nm.find(name)?.id ?? '', '') : name),
    EndpointID: e ? `${e.networkId.slice(0, 32)}${rec.id.slice(0, 32)}` : '', Gateway: e?.gateway ?? '', IPAddress: e?.ip ?? '',
    IPPrefixLen: e ? prefix(e.networkId) : 0, IPv6Gateway: e?.gateway6 ?? '', GlobalIPv6Address: e?.ip6 ?? '', GlobalIPv6PrefixLen: e?.ip6 ? prefix6(e.networkId) : 0, DriverOpts: null, DNSNames: null,
  });
  const networks: Record<string, unknown> = {};
  for (const e of eps) networks[e.network] = endpoint(e, e.network);
  if (!eps.length && kind !== 'container' && kind !== 'path') networks[mode] = endpoint(undefined);
  const primary = eps[0];
  return {
    Bridge: '', SandboxID: running && kind === 'bridge' ? rec.id : '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: ports, SandboxKey: running ? (kind === 'bridge' ? netnsPath : kind === 'none' ? `/proc/${rec.pid}/ns/net` : kind === 'path' ? netnsPathOf(mode) : '') : '',
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: primary ? `${primary.networkId.slice(0, 32)}${rec.id.slice(0, 32)}` : '', Gateway: primary?.gateway ?? '',
    GlobalIPv6Address: primary?.ip6 ?? '', GlobalIPv6PrefixLen: primary?.ip6 ? prefix6(primary.networkId) : 0, IPAddress: primary?.ip ?? '', IPPrefixLen: primary ? prefix(primary.networkId) : 0,
    IPv6Gateway: primary?.gateway6 ?? '', MacAddress: primary?.mac ?? '',
    Networks: networks,
  };
}

/** A network library call, its error as the engine's. */
function sync<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw engineError(e);
  }
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
