// Facts about the host's network, read from /proc and /sys (cheap file reads, no helper
// processes): routes (to keep berth's subnets clear of the host's), listening sockets (a port a
// host process holds cannot be published), resolvers, MTU, links, sysctls.
import { existsSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { formatIPv4, type Cidr } from './cidr.js';
import { system } from './errors.js';

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

/** A /proc/net hex address (little-endian u32) as a number. */
function hexLe32(h: string): number {
  return Buffer.from(h, 'hex').readUInt32LE(0);
}

export interface HostRoute {
  iface: string;
  dest: Cidr;
}

/** IPv4 routes of the main table except the default route (/proc/net/route). */
export function parseRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = hexLe32(f[1]!);
    const mask = hexLe32(f[7]!);
    if (mask === 0) continue;
    const prefix = Math.clz32(~mask >>> 0);
    out.push({ iface: f[0]!, dest: { base: (dest & mask) >>> 0, prefix } });
  }
  return out;
}

export function hostRoutes(): HostRoute[] {
  return parseRoutes(read('/proc/net/route') ?? '');
}

export function defaultRouteIface(text = read('/proc/net/route') ?? ''): string | undefined {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === '00000000' && f[7] === '00000000') return f[0];
  }
  return undefined;
}

/** The MTU of the interface of the default route (1500 when there is none). */
export function defaultMtu(): number {
  const dev = defaultRouteIface();
  const mtu = dev ? Number(read(`/sys/class/net/${dev}/mtu`)) : NaN;
  return Number.isInteger(mtu) && mtu >= 576 ? mtu : 1500;
}

export interface Listener {
  proto: 'tcp' | 'udp';
  /** '' for a wildcard bind (0.0.0.0 or ::). */
  ip: string;
  port: number;
}

/** Sockets bound in this netns: TCP in LISTEN, every bound UDP socket. */
export function parseSockets(text: string, proto: 'tcp' | 'udp', v6: boolean): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (proto === 'tcp' && f[3] !== '0A') continue;
    const [addr, port] = f[1]!.split(':');
    if (!addr || !port) continue;
    let ip: string | undefined;
    if (!v6) {
      const n = hexLe32(addr);
      ip = n === 0 ? '' : formatIPv4(n);
    } else if (/^0+$/.test(addr)) ip = '';
    else if (addr.slice(0, 16) === '0000000000000000' && addr.slice(16, 24).toUpperCase() === 'FFFF0000') ip = formatIPv4(hexLe32(addr.slice(24)));
    if (ip === undefined) continue; // a specific IPv6 address: no IPv4 port is taken
    out.push({ proto, ip, port: parseInt(port, 16) });
  }
  return out;
}

export function listeners(): Listener[] {
  return [
    ...parseSockets(read('/proc/net/tcp') ?? '', 'tcp', false),
    ...parseSockets(read('/proc/net/tcp6') ?? '', 'tcp', true),
    ...parseSockets(read('/proc/net/udp') ?? '', 'udp', false),
    ...parseSockets(read('/proc/net/udp6') ?? '', 'udp', true),
  ];
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const rc: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [k, ...v] = line.split(/\s+/);
    if (k === 'nameserver' && v[0]) rc.nameservers.push(v[0]);
    else if (k === 'search' || k === 'domain') rc.search = v;
    else if (k === 'options') rc.options.push(...v);
  }
  return rc;
}

export function hostResolvConf(path = '/etc/resolv.conf'): ResolvConf {
  return parseResolvConf(read(path) ?? '');
}

export const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

/** Host links whose bridge master is `bridge`. */
export function bridgePorts(bridge: string): string[] {
  try {
    return readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}

export function linkMaster(name: string): string | undefined {
  try {
    return basename(readlinkSync(`/sys/class/net/${name}/master`));
  } catch {
    return undefined;
  }
}

export function listLinks(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return [];
  }
}

export function setSysctl(key: string, value: string): void {
  const path = `/proc/sys/${key.replace(/\./g, '/')}`;
  try {
    if (read(path)?.trim() === value) return;
    writeFileSync(path, value);
  } catch (e) {
    throw system(`cannot set ${key}=${value}: ${(e as Error).message}`);
  }
}

