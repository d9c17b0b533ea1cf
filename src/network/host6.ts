// The host's IPv6 routes (for subnet overlap checks of dual-stack networks), from
// /proc/net/ipv6_route: dest, dest prefix (hex), src, src prefix, next hop, metric, refcnt, use,
// flags, interface.
import { readFileSync } from 'node:fs';
import type { Cidr6 } from './cidr6.js';

export interface HostRoute6 {
  dest: Cidr6;
  iface: string;
}

export function parseRoutes6(text: string): HostRoute6[] {
  const out: HostRoute6[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/.test(f[0]!)) continue;
    const prefix = parseInt(f[1]!, 16);
    // the default route, link-local, multicast and host routes say nothing about a /64 in use
    if (prefix === 0 || prefix === 128 || /^fe[89ab]|^ff/.test(f[0]!) || f[9] === 'lo') continue;
    out.push({ dest: { base: BigInt(`0x${f[0]}`), prefix }, iface: f[9]! });
  }
  return out;
}

export function hostRoutes6(): HostRoute6[] {
  try {
    return parseRoutes6(readFileSync('/proc/net/ipv6_route', 'utf8'));
  } catch {
    return []; // IPv6 disabled on the host
  }
}
