// Port publishing specs: `-p [ip:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp]`, parsed
// once into PortSpec, then expanded into concrete PortMappings when a container attaches (random
// host ports need the host's and berth's state, so they are chosen there).
import { formatIPv4, isIPv4, parseIPv4 } from './cidr.js';
import { conflict, invalid } from './errors.js';

export type Proto = 'tcp' | 'udp' | 'sctp';

export interface PortRange {
  start: number;
  end: number;
}

export interface PortSpec {
  /** '' publishes on every host address (0.0.0.0). */
  hostIp: string;
  /** null: random host ports. A range longer than `container` with one container port: pick one. */
  host: PortRange | null;
  container: PortRange;
  proto: Proto;
}

/** One published port, as stored and as `berth port` shows it. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

function parsePort(s: string, spec: string): number {
  if (!/^\d{1,5}$/.test(s)) throw invalid(`invalid port "${s}" in "${spec}": expected a number 1-65535`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw invalid(`invalid port "${s}" in "${spec}": expected a number 1-65535`);
  return n;
}

function parseRange(s: string, spec: string): PortRange {
  const [a, b, ...rest] = s.split('-');
  if (rest.length || a === undefined) throw invalid(`invalid port range "${s}" in "${spec}"`);
  const start = parsePort(a, spec);
  const end = b === undefined ? start : parsePort(b, spec);
  if (end < start) throw invalid(`invalid port range "${s}" in "${spec}": the end is before the start`);
  return { start, end };
}

export function parsePortSpec(spec: string): PortSpec {
  let rest = spec.trim();
  if (!rest) throw invalid('empty port specification');
  let proto: Proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw invalid(`invalid protocol "${p}" in "${spec}": expected tcp, udp or sctp`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw invalid(`invalid port specification "${spec}": unclosed "["`);
    throw invalid(`invalid port specification "${spec}": IPv6 host addresses are not supported yet; use an IPv4 address`);
  }
  const parts = rest.split(':');
  if (parts.length > 3) throw invalid(`invalid port specification "${spec}": expected [ip:][hostPort:]containerPort[/proto]`);
  if (parts.length === 3) {
    const ip = parts.shift()!;
    if (ip !== '' && !isIPv4(ip)) throw invalid(`invalid host IP "${ip}" in "${spec}": expected an IPv4 address`);
    hostIp = ip === '' || ip === '0.0.0.0' ? '' : formatIPv4(parseIPv4(ip));
  }
  const containerPart = parts.pop()!;
  const hostPart = parts.pop();
  const container = parseRange(containerPart, spec);
  const host = hostPart === undefined || hostPart === '' ? null : parseRange(hostPart, spec);
  if (host) {
    const hn = host.end - host.start;
    const cn = container.end - container.start;
    if (hn !== cn && cn !== 0) {
      throw invalid(`invalid port specification "${spec}": the host range has ${hn + 1} ports and the container range ${cn + 1}; they must match`);
    }
  }
  return { hostIp, host, container, proto };
}

export function formatPortMapping(m: PortMapping): string {
  return `${m.containerPort}/${m.proto} -> ${m.hostIp || '0.0.0.0'}:${m.hostPort}`;
}

/** Two mappings collide when they share protocol and host port and one of the addresses covers the other. */
export function collides(a: Pick<PortMapping, 'hostIp' | 'hostPort' | 'proto'>, b: Pick<PortMapping, 'hostIp' | 'hostPort' | 'proto'>): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort && (a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp);
}

/**
 * Expands specs into mappings. `taken(m)` says why a host port is unavailable (published by
 * berth or bound on the host), or undefined; random ports come from `ephemeral` (docker uses
 * 32768-60999).
 */
export function expandPorts(specs: PortSpec[], taken: (m: PortMapping) => string | undefined, ephemeral: PortRange = { start: 32768, end: 60999 }, rand: () => number = Math.random): PortMapping[] {
  const out: PortMapping[] = [];
  const busy = (m: PortMapping) => taken(m) ?? (out.some((o) => collides(o, m)) ? 'published twice by this container' : undefined);
  for (const s of specs) {
    const n = s.container.end - s.container.start + 1;
    if (s.host && s.host.end - s.host.start + 1 === n) {
      for (let i = 0; i < n; i++) {
        const m: PortMapping = { hostIp: s.hostIp, hostPort: s.host.start + i, containerPort: s.container.start + i, proto: s.proto };
        const why = busy(m);
        if (why) throw portInUse(m, why);
        out.push(m);
      }
      continue;
    }
    // One container port with a host range, or random host ports.
    const pool = s.host ?? ephemeral;
    const span = pool.end - pool.start + 1;
    for (let i = 0; i < n; i++) {
      const containerPort = s.container.start + i;
      const offset = s.host ? 0 : Math.floor(rand() * span);
      let found: PortMapping | undefined;
      for (let k = 0; k < span && !found; k++) {
        const m: PortMapping = { hostIp: s.hostIp, hostPort: pool.start + ((offset + k) % span), containerPort, proto: s.proto };
        if (!busy(m)) found = m;
      }
      if (!found) {
        throw invalid(`no free host port in ${pool.start}-${pool.end}/${s.proto} for container port ${containerPort}${s.hostIp ? ` on ${s.hostIp}` : ''}`);
      }
      out.push(found);
    }
  }
  return out;
}

export function portInUse(m: PortMapping, why: string): Error {
  return conflict(`cannot publish ${m.hostIp || '0.0.0.0'}:${m.hostPort}/${m.proto}: port is already allocated (${why})`);
}
