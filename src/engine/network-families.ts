// docker's `network create --subnet A --subnet B --gateway X --gateway Y`: at most one v4 and one
// v6 subnet, each gateway matched to its subnet by address family. The library takes them as
// subnet/gateway (v4) and subnet6/gateway6; a v6 subnet needs --ipv6, as in docker.
import { isIPv6Addr } from '../network/cidr6.js';
import { invalid } from './errors.js';

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter((x) => x !== '');
const isV6 = (s: string) => s.includes(':');

export interface FamilyAddresses {
  subnet?: string;
  gateway?: string;
  subnet6?: string;
  gateway6?: string;
}

export function splitFamilies(o: { subnet?: string | string[]; gateway?: string | string[]; ipv6?: boolean }): FamilyAddresses {
  const subnets = list(o.subnet);
  const gateways = list(o.gateway);
  const v4 = subnets.filter((s) => !isV6(s));
  const v6 = subnets.filter(isV6);
  if (v4.length > 1 || v6.length > 1) throw invalid('invalid --subnet: at most one IPv4 and one IPv6 subnet (pass --subnet once per address family)');
  if (v6.length && !o.ipv6) throw invalid(`invalid --subnet ${v6[0]}: an IPv6 subnet needs --ipv6`);
  const g4 = gateways.filter((g) => !isV6(g));
  const g6 = gateways.filter(isV6);
  if (g4.length > 1 || g6.length > 1) throw invalid('invalid --gateway: at most one per address family');
  if (g4.length && !v4.length) throw invalid(`invalid --gateway ${g4[0]}: an IPv4 gateway needs an IPv4 --subnet`);
  if (g6.length && !v6.length) throw invalid(`invalid --gateway ${g6[0]}: an IPv6 gateway needs an IPv6 --subnet`);
  if (g6.length && !isIPv6Addr(g6[0]!)) throw invalid(`invalid --gateway ${g6[0]}: not an IPv6 address`);
  return {
    ...(v4.length ? { subnet: v4[0]! } : {}), ...(g4.length ? { gateway: g4[0]! } : {}),
    ...(v6.length ? { subnet6: v6[0]! } : {}), ...(g6.length ? { gateway6: g6[0]! } : {}),
  };
}
