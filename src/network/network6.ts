// The IPv6 half of `network create --ipv6`: which arguments are v6 (docker takes a v6 CIDR in
// --subnet and a v6 address in --gateway once --ipv6 is given), their validation before
// anything is made, and the choice of a free subnet under the networks lock.
import { contains6, formatCidr6, formatIPv6, hostRange6, overlaps6, parseCidr6, parseIPv6, ulaFor, type Cidr6 } from './cidr6.js';
import { conflict, invalid } from './errors.js';
import { hostRoutes6 } from './host6.js';

export interface V6Input {
  ipv6?: boolean;
  subnet?: string;
  gateway?: string;
  subnet6?: string;
  gateway6?: string;
}

export interface V6Plan {
  enabled: boolean;
  /** The v4 subnet argument (undefined when --subnet was the v6 one). */
  subnet4?: string;
  gateway4?: string;
  /** Picks the subnet (checked against other networks and the host's routes) and gateway. */
  choose(id: string, others: { name: string; subnet6?: string }[]): { subnet6: string; gateway6: string };
}

const isV6 = (s: string | undefined) => !!s && s.includes(':');

export function resolveV6(o: V6Input): V6Plan {
  let subnet6 = o.subnet6;
  let gateway6 = o.gateway6;
  let subnet4 = o.subnet;
  let gateway4 = o.gateway;
  if (isV6(o.subnet)) {
    if (subnet6) throw invalid(`two IPv6 subnets given (--subnet ${o.subnet} and ${subnet6}); pass one`);
    subnet6 = o.subnet;
    subnet4 = undefined;
  }
  if (isV6(o.gateway)) {
    if (gateway6) throw invalid(`two IPv6 gateways given (--gateway ${o.gateway} and ${gateway6}); pass one`);
    gateway6 = o.gateway;
    gateway4 = undefined;
  }
  if (!o.ipv6) {
    if (subnet6 || gateway6) throw invalid(`IPv6 subnet or gateway ${subnet6 ?? gateway6} given without --ipv6; add --ipv6 to make a dual-stack network`);
    return { enabled: false, subnet4, gateway4, choose: () => { throw new Error('not a v6 network'); } };
  }
  if (gateway6 && !subnet6) throw invalid('an IPv6 --gateway needs an IPv6 --subnet');
  const given = subnet6 ? parseCidr6(subnet6, 'IPv6 subnet (--subnet)') : undefined;
  if (given && given.prefix > 120) throw invalid(`invalid IPv6 subnet ${subnet6}: too small (at most /120; /64 is usual)`);
  let gw: bigint | undefined;
  if (given && gateway6) {
    gw = parseIPv6(gateway6, 'IPv6 gateway (--gateway)');
    const r = hostRange6(given);
    if (!contains6(given, gw) || gw < r.first) throw invalid(`invalid IPv6 --gateway ${gateway6}: not a host address of ${subnet6}`);
  }
  return {
    enabled: true, subnet4, gateway4,
    choose(id, others) {
      const taken: { what: string; c: Cidr6 }[] = [
        ...others.filter((n) => n.subnet6).map((n) => ({ what: `network ${n.name} (${n.subnet6})`, c: parseCidr6(n.subnet6!) })),
        ...hostRoutes6().map((r) => ({ what: `the host's route to ${formatCidr6(r.dest)} on ${r.iface}`, c: r.dest })),
      ];
      let c = given;
      if (c) {
        const hit = taken.find((t) => overlaps6(t.c, c!));
        if (hit) throw conflict(`IPv6 subnet ${formatCidr6(c)} overlaps with ${hit.what}`);
      } else {
        for (let salt = 0; salt < 16 && !c; salt++) {
          const u = ulaFor(id, salt);
          if (!taken.some((t) => overlaps6(t.c, u))) c = u;
        }
        if (!c) throw conflict('no free IPv6 subnet found; pass an IPv6 --subnet');
      }
      return { subnet6: formatCidr6(c), gateway6: formatIPv6(gw ?? hostRange6(c).first) };
    },
  };
}
