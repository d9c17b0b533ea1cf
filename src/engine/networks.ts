// `network create/ls/inspect/rm/prune/connect/disconnect` and `port` over NetworkManager, with
// docker's shapes (inspect JSON, ls rows) and errors as EngineErrors (so docker's exit codes).
import type { Network, NetworkInspect } from '../network/manager.js';
import { parseCidr } from '../network/cidr.js';
import type { PortMapping } from '../network/ports.js';
import { EngineError, invalid, notFound } from './errors.js';
import { shortId } from './ids.js';
import { egressOf, networkKind } from './networking-options.js';
import { splitFamilies } from './network-families.js';
import { wrap, type EngineNetworking } from './networking.js';
import type { ContainerRecord } from './types.js';

export interface NetworkCreateOptions {
  name: string;
  /** "bridge" (the default) or "cni" (with `cni` or options.conflist). */
  driver?: string;
  /** One v4 and, with ipv6, one v6 subnet (docker's repeated --subnet); a string is one of either. */
  subnet?: string | string[];
  /** The gateways of those subnets, matched by address family. */
  gateway?: string | string[];
  /** --ipv6: dual stack (a ULA /64 derived from the id unless a v6 subnet is given). */
  ipv6?: boolean;
  /** driver "cni": the conflist as a file path, its JSON text or an object (or options.conflist = PATH). */
  cni?: string | object;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  /** -o/--opt: mtu (com.docker.network.driver.mtu), isolate, dns, com.docker.network.bridge.name, ... */
  options?: Record<string, string>;
}

export interface NetworkFilters {
  /** docker's filters: name (substring), id (prefix), label (key or key=value), driver, type (builtin|custom), dangling. */
  [k: string]: string[] | undefined;
}

export interface ConnectOptions {
  aliases?: string[];
  ip?: string;
  /** A static v6 address on a --ipv6 network. */
  ip6?: string;
  /** berth's own: egress limit of this attachment, bytes/s or "10mbit". */
  egressRate?: string | number;
}

/** docker network inspect's JSON. */
export function inspectNetwork(n: NetworkInspect): Record<string, unknown> {
  const prefix = n.subnet ? parseCidr(n.subnet).prefix : 0; // a CNI network's may be empty
  const prefix6 = n.subnet6 ? Number(n.subnet6.split('/')[1]) : 0;
  const config: Record<string, string>[] = [];
  if (n.subnet) config.push({ Subnet: n.subnet, ...(n.gateway ? { Gateway: n.gateway } : {}), ...(n.ipRange ? { IPRange: n.ipRange } : {}) });
  if (n.subnet6) config.push({ Subnet: n.subnet6, ...(n.gateway6 ? { Gateway: n.gateway6 } : {}) });
  return {
    Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver, EnableIPv6: !!n.ipv6,
    IPAM: { Driver: n.driver === 'cni' ? 'cni' : 'default', Options: {}, Config: config },
    Internal: n.internal, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: Object.fromEntries(n.containers.map((c) => [c.container, { Name: c.name, EndpointID: `${n.id.slice(0, 32)}${c.container.slice(0, 32)}`, MacAddress: c.mac, IPv4Address: c.ip ? `${c.ip}/${prefix}` : '', IPv6Address: c.ip6 ? `${c.ip6}/${prefix6}` : '' }])),
    Options: n.driver === 'cni' ? { ...n.options } : n.builtin ? { 'com.docker.network.bridge.name': n.bridge, 'com.docker.network.bridge.default_bridge': 'true' } : { ...n.options, 'com.docker.network.bridge.name': n.bridge },
    Labels: n.labels,
    ...(n.cni ? { ConfigList: n.cni } : {}),
  };
}

/** A `network ls` row (the fields --format can name). */
export function networkRow(n: Network, noTrunc = false): Record<string, unknown> {
  return {
    ID: noTrunc ? n.id : n.id.slice(0, 12), Name: n.name, Driver: n.driver, Scope: 'local', IPv6: String(!!n.ipv6), Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','), CreatedAt: n.created.replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
  };
}

export class EngineNetworks {
  constructor(private readonly net: EngineNetworking, private readonly container: (ref: string) => ContainerRecord) {}

  private async ready(): Promise<void> {
    await this.net.reconcileStale();
  }

  async create(o: NetworkCreateOptions): Promise<Network> {
    if (!o.name) throw invalid('a network name is required');
    const driver = o.driver || 'bridge';
    if (driver !== 'bridge' && driver !== 'cni') throw new EngineError('notfound', `plugin "${driver}" not found: berth has the bridge and cni network drivers`);
    const addr = splitFamilies(o);
    if (driver === 'cni' && o.cni === undefined && !o.options?.conflist) throw invalid('a "cni" network needs its conflist: -o conflist=PATH');
    await this.ready();
    return wrap(this.net.manager.create({
      name: o.name, driver, ...addr,
      ...(o.ipRange ? { ipRange: o.ipRange } : {}), ...(o.ipv6 ? { ipv6: true } : {}), ...(o.cni !== undefined ? { cni: o.cni } : {}),
      internal: !!o.internal, labels: o.labels ?? {}, options: o.options ?? {},
    }));
  }

  list(filters: NetworkFilters = {}): Network[] {
    let all: Network[];
    try {
      all = this.net.manager.list();
    } catch (e) {
      throw new EngineError('system', (e as Error).message);
    }
    for (const k of Object.keys(filters)) {
      if (!['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope'].includes(k)) throw invalid(`invalid filter '${k}'`);
    }
    const any = (k: string, f: (v: string) => boolean) => !filters[k]?.length || filters[k]!.some(f);
    return all.filter((n) => any('name', (v) => n.name.includes(v))
      && any('id', (v) => n.id.startsWith(v))
      && any('driver', (v) => v === n.driver)
      && any('scope', (v) => v === 'local')
      && any('type', (v) => (v === 'builtin') === n.builtin)
      && any('dangling', (v) => (v === 'true' || v === '1') === (!n.builtin && this.inspectRaw(n.id).containers.length === 0))
      && (filters.label ?? []).every((l) => {
        const i = l.indexOf('=');
        const key = i < 0 ? l : l.slice(0, i);
        return key in n.labels && (i < 0 || n.labels[key] === l.slice(i + 1));
      }));
  }

  private inspectRaw(ref: string): NetworkInspect {
    try {
      return this.net.manager.inspect(ref);
    } catch (e) {
      const err = e as Error & { kind?: string };
      if (err.kind === 'notfound') throw notFound(`network ${ref} not found`);
      throw new EngineError(err.kind === 'conflict' ? 'conflict' : 'system', err.message);
    }
  }

  inspect(ref: string): Record<string, unknown> {
    const n = this.inspectRaw(ref);
    // CNI attachments do not record the container's name: this root may know it
    const name = (id: string) => {
      try {
        return this.container(id).name;
      } catch {
        return '';
      }
    };
    return inspectNetwork({ ...n, containers: n.containers.map((c) => (c.name ? c : { ...c, name: name(c.container) })) });
  }

  async remove(ref: string): Promise<void> {
    await this.ready();
    const n = this.inspectRaw(ref);
    if (n.containers.length) {
      throw new EngineError('conflict', `error while removing network: network ${n.name} id ${n.id} has active endpoints (${n.containers.map((c) => c.name || shortId(c.container)).join(', ')}): stop or disconnect them first`);
    }
    await wrap(this.net.manager.remove(n.id));
  }

  /** Removes networks without containers (label filters: label=k[=v], label!=k[=v]); returns their names. */
  async prune(filters: NetworkFilters = {}): Promise<string[]> {
    await this.ready();
    for (const k of Object.keys(filters)) if (k !== 'label' && k !== 'label!' && k !== 'until') throw invalid(`invalid filter '${k}'`);
    const until = filters.until?.[0] ? Date.parse(filters.until[0]) : undefined;
    if (until !== undefined && Number.isNaN(until)) throw invalid(`invalid filter 'until=${filters.until![0]}': expected a timestamp`);
    const has = (n: Network, l: string) => {
      const i = l.indexOf('=');
      const key = i < 0 ? l : l.slice(0, i);
      return key in n.labels && (i < 0 || n.labels[key] === l.slice(i + 1));
    };
    const removed: string[] = [];
    for (const n of this.list()) {
      if (n.builtin) continue;
      if (!(filters.label ?? []).every((l) => has(n, l)) || (filters['label!'] ?? []).some((l) => has(n, l))) continue;
      if (until !== undefined && Date.parse(n.created) >= until) continue;
      if (this.inspectRaw(n.id).containers.length) continue;
      try {
        await wrap(this.net.manager.remove(n.id));
        removed.push(n.name);
      } catch (e) {
        if (!(e instanceof EngineError && e.kind === 'conflict')) throw e; // in use meanwhile
      }
    }
    return removed;
  }

  private running(ref: string): ContainerRecord {
    const c = this.container(ref);
    if (c.state !== 'running' && c.state !== 'paused') throw new EngineError('conflict', `container ${shortId(c.id)} is not running: berth connects running containers only`);
    if (networkKind(c.hostConfig.NetworkMode) !== 'bridge') throw new EngineError('conflict', `container ${shortId(c.id)} uses --network ${c.hostConfig.NetworkMode}: it cannot join other networks`);
    return c;
  }

  async connect(network: string, ref: string, o: ConnectOptions = {}): Promise<void> {
    await this.ready();
    const c = this.running(ref);
    const n = this.inspectRaw(network);
    if (n.builtin && (o.aliases?.length || o.ip)) throw invalid('network-scoped aliases and --ip are supported on user defined networks only');
    if (n.builtin && o.ip6) throw invalid('--ip6 is supported on user defined networks only');
    const egress = egressOf(o.egressRate);
    await wrap(this.net.manager.connect(n.id, c.id, {
      name: c.name, hostname: c.spec.hostname ?? shortId(c.id), aliases: o.aliases ?? [], ...(o.ip ? { ip: o.ip } : {}),
      ...(o.ip6 ? { ip6: o.ip6 } : {}), ...(egress ? { egressRate: egress } : {}),
    }));
  }

  async disconnect(network: string, ref: string, o: { force?: boolean } = {}): Promise<void> {
    await this.ready();
    const n = this.inspectRaw(network);
    let c: ContainerRecord | undefined;
    try {
      c = this.container(ref);
    } catch (e) {
      if (!o.force) throw e;
    }
    const id = c?.id ?? n.containers.find((x) => x.container.startsWith(ref) || x.name === ref)?.container;
    if (!id) throw notFound(`No such container: ${ref}`);
    try {
      await wrap(this.net.manager.disconnect(n.id, id));
    } catch (e) {
      if (!o.force) throw e;
    }
  }

  /** `port`: the container's published ports, optionally of one private port ("80", "80/udp"). */
  ports(ref: string, privatePort?: string): PortMapping[] {
    const c = this.container(ref);
    const all = c.state === 'running' || c.state === 'paused' || c.state === 'restarting' ? this.net.manager.ports(c.id) : [];
    if (privatePort === undefined) return all;
    const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(privatePort);
    if (!m) throw invalid(`invalid port "${privatePort}": expected PORT[/PROTO]`);
    const proto = (m[2] ?? 'tcp').toLowerCase();
    const found = all.filter((p) => p.containerPort === Number(m[1]) && p.proto === proto);
    if (!found.length) throw notFound(`No public port '${Number(m[1])}/${proto}' published for ${c.name}`);
    return found;
  }
}
