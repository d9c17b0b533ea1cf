// IPv6 address and CIDR arithmetic (dual-stack networks). Addresses are 128-bit bigints inside;
// strings are parsed once where they enter, with errors naming the input, and formatted in the
// RFC 5952 canonical form (lower case, longest zero run as "::") so files and nft compare equal.
import { isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import { invalid } from './errors.js';

export interface Cidr6 {
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const ALL = (1n << 128n) - 1n;

export function parseIPv6(s: string, what = 'IPv6 address'): bigint {
  if (s.includes('%') || s.includes('.') || !isIPv6(s)) throw invalid(`invalid ${what} "${s}": expected an IPv6 address like fd00:1::2`);
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

export function formatIPv6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // the longest run of two or more zero groups becomes "::" (the first one on a tie)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function isIPv6Addr(s: string): boolean {
  try {
    parseIPv6(s);
    return true;
  } catch {
    return false;
  }
}

export function maskOf6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

/** Parses "fd00:1::/64". Host bits must be zero, as docker requires. */
export function parseCidr6(s: string, what = 'IPv6 subnet'): Cidr6 {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) throw invalid(`invalid ${what} "${s}": expected CIDR notation like fd00:1::/64`);
  const prefix = Number(m[2]);
  if (prefix > 128) throw invalid(`invalid ${what} "${s}": prefix length must be 0-128`);
  const addr = parseIPv6(m[1]!, what);
  const base = addr & maskOf6(prefix);
  if (base !== addr) throw invalid(`invalid ${what} "${s}": host bits are set; did you mean ${formatCidr6({ base, prefix })}?`);
  return { base, prefix };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIPv6(c.base)}/${c.prefix}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & maskOf6(c.prefix)) === c.base;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return contains6(a, b.base) || contains6(b, a.base);
}

/** Host addresses: everything but the subnet-router anycast address (the base). No broadcast in v6. */
export function hostRange6(c: Cidr6): { first: bigint; last: bigint } {
  const last = c.base | (~maskOf6(c.prefix) & ALL);
  return c.prefix >= 127 ? { first: c.base, last } : { first: c.base + 1n, last };
}

/** 16 bytes, network order (netlink, DNS AAAA). */
export function ip6Bytes(n: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(n >> 64n, 0);
  b.writeBigUInt64BE(n & 0xffffffffffffffffn, 8);
  return b;
}

export function ip6FromBytes(b: Buffer): bigint {
  return (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8);
}

/**
 * A unique local /64 (RFC 4193: fd + 40 bits) for a network created with --ipv6 but no v6
 * subnet, derived from its id so it is stable and, with 2^40 choices, practically never taken.
 */
export function ulaFor(seed: string, salt = 0): Cidr6 {
  const h = createHash('sha256').update(`${seed}/${salt}`).digest();
  let base = 0xfdn;
  for (let i = 0; i < 7; i++) base = (base << 8n) | BigInt(h[i]!);
  return { base: base << 64n, prefix: 64 };
}
