// The network flags of create/run (--network, -p, -P, --expose, --ip, --ip6, --mac-address,
// --network-alias, --dns*, --add-host), validated once where they enter and kept in docker's HostConfig shape. Whether a
// named network exists is checked by the engine (networking.ts), which needs the network state.
import { isIPv4, normalizeMac } from '../network/cidr.js';
import { isIPv6Addr } from '../network/cidr6.js';
import { parseRate } from '../network/tc.js';
import { parseAddHost } from '../network/etc-files.js';
import { parsePortSpec } from '../network/ports.js';
import { invalid } from './errors.js';
import type { HostConfig } from './types.js';

export interface NetworkCreateOptions {
  /**
   * "bridge" (the default network, berth0), "none" (loopback only), "host", a user network's
   * name or id, "container:NAME" (share another container's network stack), or the path of an
   * existing network namespace ("/run/netns/x", or "ns:/run/netns/x").
   */
  network?: string;
  /** -p "[ip:][hostPort[-end]:]containerPort[-end][/tcp|udp]". */
  publish?: string[];
  /** -P: publish every exposed port (the image's and --expose) on a random host port. */
  publishAll?: boolean;
  /** --expose "80", "8000-8010/udp". */
  expose?: string[];
  /** --ip: a static address on the container's (user-defined) network. */
  ip?: string;
  /** --ip6: a static IPv6 address on the container's (user-defined, --ipv6) network. */
  ip6?: string;
  /** --mac-address: the MAC of the container's interface on its (bridge) network; unicast. */
  macAddress?: string;
  /**
   * --egress-rate (berth's own; docker has none): caps what the container sends, in bytes per
   * second or with a tc unit ("10mbit", "1mibps").
   */
  egressRate?: string | number;
  /** --network-alias: more names the network's resolver answers for this container. */
  networkAliases?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --add-host "name:ip" (ip may be "host-gateway"). */
  addHosts?: string[];
}

export type NetworkKind = 'bridge' | 'none' | 'host' | 'container' | 'path';

/** What a NetworkMode means: the default or a user network, none, host, container:X, a netns path. */
export function networkKind(mode: string): NetworkKind {
  if (mode === 'none' || mode === 'host') return mode;
  if (mode.startsWith('container:')) return 'container';
  if (mode.startsWith('/') || mode.startsWith('ns:')) return 'path';
  return 'bridge';
}

export const netnsPathOf = (mode: string) => (mode.startsWith('ns:') ? mode.slice(3) : mode);

type NetworkHostConfig = Pick<HostConfig, 'NetworkMode' | 'PortBindings' | 'PublishAllPorts' | 'Dns' | 'DnsSearch' | 'DnsOptions' | 'ExtraHosts' | 'NetworkEndpoint'>;

/** Validates the flags into HostConfig fields and the exposed ports ("80/tcp") they add. */
export function normalizeNetwork(o: NetworkCreateOptions, defaultMode: string): { hostConfig: NetworkHostConfig; exposed: string[] } {
  const mode = o.network === undefined || o.network === '' || o.network === 'default' ? defaultMode : o.network;
  if (/\s/.test(mode) || (mode.startsWith('container:') && mode.length === 'container:'.length)) throw invalid(`invalid --network "${mode}": expected bridge, none, host, a network name, container:NAME or a netns path`);
  const kind = networkKind(mode);
  const publish = o.publish ?? [];
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const exposed: string[] = [];
  for (const p of publish) {
    let s;
    try {
      s = parsePortSpec(p);
    } catch (e) {
      throw invalid(`invalid argument "${p}" for "-p, --publish" flag: ${(e as Error).message}`);
    }
    const n = s.container.end - s.container.start + 1;
    for (let i = 0; i < n; i++) {
      const key = `${s.container.start + i}/${s.proto}`;
      const hostPort = !s.host ? '' : s.host.end - s.host.start + 1 === n ? String(s.host.start + i) : s.host.start === s.host.end ? String(s.host.start) : `${s.host.start}-${s.host.end}`;
      (bindings[key] ??= []).push({ HostIp: s.hostIp, HostPort: hostPort });
      exposed.push(key);
    }
  }
  for (const e of o.expose ?? []) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(e.trim());
    if (!m) throw invalid(`invalid argument "${e}" for "--expose" flag: expected PORT[-END][/PROTO]`);
    const start = Number(m[1]);
    const end = m[2] ? Number(m[2]) : start;
    if (start < 1 || end > 65535 || end < start) throw invalid(`invalid argument "${e}" for "--expose" flag: ports are 1-65535, the end after the start`);
    for (let p = start; p <= end; p++) exposed.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
  }
  const aliases = o.networkAliases ?? [];
  const ip = o.ip ?? '';
  if (ip && !isIPv4(ip)) throw invalid(`invalid argument "${ip}" for "--ip" flag: expected an IPv4 address`);
  const ip6 = o.ip6 ?? '';
  if (ip6 && !isIPv6Addr(ip6)) throw invalid(`invalid argument "${ip6}" for "--ip6" flag: expected an IPv6 address`);
  const egress = egressOf(o.egressRate);
  const mac = macOf(o.macAddress);
  if (mac && kind !== 'bridge') throw invalid(`conflicting options: --mac-address and the network mode (--network ${mode}): only a bridge network (the default or a user-defined one) gives the container an interface of its own`);
  const userNetwork = kind === 'bridge' && mode !== 'bridge';
  if (ip6 && !userNetwork) throw invalid('user specified IP address is supported on user defined networks only');
  if (egress && kind !== 'bridge') throw invalid(`conflicting options: --egress-rate and the network mode (--network ${mode}): the limit applies to bridge networks only`);
  if (ip && !userNetwork) throw invalid('user specified IP address is supported on user defined networks only');
  if (aliases.length && !userNetwork) throw invalid('network-scoped alias is supported only for containers in user defined networks');
  if ((publish.length || o.publishAll) && (kind === 'none' || kind === 'container' || kind === 'path')) {
    throw invalid(`conflicting options: port publishing and the container type network mode (--network ${mode})`);
  }
  for (const d of o.dns ?? []) if (!isIPv4(d)) throw invalid(`invalid argument "${d}" for "--dns" flag: expected an IPv4 address`);
  if (kind === 'container' && (o.dns?.length || o.addHosts?.length)) throw invalid('conflicting options: dns and the network mode (--network container:...)');
  for (const h of o.addHosts ?? []) {
    try {
      parseAddHost(h, '0.0.0.0');
    } catch (e) {
      throw invalid(`invalid argument "${h}" for "--add-host" flag: ${(e as Error).message}`);
    }
  }
  return {
    hostConfig: {
      NetworkMode: mode, PortBindings: kind === 'host' ? {} : bindings, PublishAllPorts: !!o.publishAll && kind !== 'host',
      Dns: o.dns ?? [], DnsSearch: o.dnsSearch ?? [], DnsOptions: o.dnsOptions ?? [], ExtraHosts: o.addHosts ?? [],
      ...(userNetwork || egress || mac ? { NetworkEndpoint: { Aliases: aliases, IPv4Address: ip, ...(ip6 ? { IPv6Address: ip6 } : {}), ...(mac ? { MacAddress: mac } : {}), ...(egress ? { EgressRate: egress } : {}) } } : {}),
    },
    exposed,
  };
}

/** --mac-address, canonical (lower case, ":"), or '' for none; the flag named in the error. */
function macOf(v: string | undefined): string {
  if (v === undefined || v === '') return '';
  try {
    return normalizeMac(v);
  } catch (e) {
    throw invalid(`invalid argument "${v}" for "--mac-address" flag: ${(e as Error).message.replace(/^invalid MAC address "[^"]*": /, '')}`);
  }
}

/** --egress-rate in bytes per second (undefined: none), with the flag named in the error. */
export function egressOf(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return parseRate(v, '--egress-rate');
  } catch (e) {
    throw invalid(`invalid argument "${v}" for "--egress-rate" flag: ${(e as Error).message.replace(/^invalid --egress-rate "[^"]*": /, '')}`);
  }
}
