// IPv6 address choice for dual-stack networks (the file, lock and release are ipam.ts's: a
// container's v6 address lives in its v4 allocation record, so both go together). Sequential
// from the last one handed out, like v4: a /64 never runs out, and a released address is not
// reused at once (peers may still have its neighbour entry).
import { contains6, formatCidr6, formatIPv6, hostRange6, parseIPv6, type Cidr6 } from './cidr6.js';
import { conflict, invalid, system } from './errors.js';

export interface Pool6 {
  subnet: Cidr6;
  /** The gateway (on the bridge); -1n when there is none. */
  gateway: bigint;
}

export function next6(pool: Pool6, taken: ReadonlySet<string>, last?: string): string {
  const { first, last: end } = hostRange6(pool.subnet);
  let n = last !== undefined ? parseIPv6(last) + 1n : first;
  if (n < first || n > end) n = first;
  // At most taken.size + 2 steps find a free one (unless the subnet is tiny and full).
  for (let k = 0; k < taken.size + 3; k++) {
    if (n !== pool.gateway && !taken.has(formatIPv6(n))) return formatIPv6(n);
    n = n >= end ? first : n + 1n;
  }
  throw system(`no free IPv6 address left in ${formatCidr6(pool.subnet)}`);
}

export function static6(pool: Pool6, taken: ReadonlySet<string>, ip: string): string {
  const n = parseIPv6(ip, 'IPv6 address (--ip6)');
  const s = formatIPv6(n);
  const { first, last } = hostRange6(pool.subnet);
  if (!contains6(pool.subnet, n) || n < first || n > last) throw invalid(`invalid --ip6 ${s}: not a host address of the network's subnet ${formatCidr6(pool.subnet)}`);
  if (n === pool.gateway) throw conflict(`invalid --ip6 ${s}: it is the network's gateway`);
  if (taken.has(s)) throw conflict(`address ${s} is already in use`);
  return s;
}
