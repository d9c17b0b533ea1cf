// IPv4 address and CIDR arithmetic. Addresses are unsigned 32-bit numbers inside; strings are
// parsed once where they enter (flags, files) with errors that name the input.
import { invalid } from './errors.js';

export interface Cidr {
  /** The network address (host bits cleared). */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIPv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((o) => OCTET.test(o));
}

export function parseIPv4(s: string, what = 'IP address'): number {
  const p = s.split('.');
  if (p.length !== 4 || !p.every((o) => OCTET.test(o))) throw invalid(`invalid ${what} "${s}": expected an IPv4 address like 10.88.0.2`);
  return ((+p[0]! << 24) | (+p[1]! << 16) | (+p[2]! << 8) | +p[3]!) >>> 0;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n". With strict (the default), host bits must be zero, as docker requires. */
export function parseCidr(s: string, opts: { strict?: boolean; what?: string } = {}): Cidr {
  const what = opts.what ?? 'subnet';
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) throw invalid(`invalid ${what} "${s}": expected CIDR notation like 10.89.0.0/24`);
  const prefix = Number(m[2]);
  if (!isIPv4(m[1]!)) throw invalid(`invalid ${what} "${s}": "${m[1]}" is not an IPv4 address`);
  if (prefix > 32) throw invalid(`invalid ${what} "${s}": prefix length must be 0-32`);
  const addr = parseIPv4(m[1]!);
  const base = (addr & maskOf(prefix)) >>> 0;
  if ((opts.strict ?? true) && base !== addr) {
    throw invalid(`invalid ${what} "${s}": host bits are set; did you mean ${formatCidr({ base, prefix })}?`);
  }
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function last(c: Cidr): number {
  return (c.base + size(c) - 1) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.base;
}

/** True when a is inside b (or equal). */
export function within(a: Cidr, b: Cidr): boolean {
  return a.prefix >= b.prefix && contains(b, a.base);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/** The usable host range: network and broadcast excluded for prefixes up to /30. */
export function hostRange(c: Cidr): { first: number; last: number } {
  if (c.prefix >= 31) return { first: c.base, last: last(c) };
  return { first: (c.base + 1) >>> 0, last: (last(c) - 1) >>> 0 };
}

/** The conventional gateway: the first host address. */
export function firstHost(c: Cidr): number {
  return hostRange(c).first;
}

/** A locally administered unicast MAC derived from an IPv4 address (02:42:a.b.c.d, as docker). */
export function macFromIPv4(ip: number): string {
  const b = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * A MAC address for an interface (--mac-address), as docker takes it: six hex bytes separated by
 * ":" or "-"; unicast (a multicast or broadcast one is refused: no interface may own it) and not
 * all zeros. Returns the canonical form, lower case with ":".
 */
export function normalizeMac(s: string, what = 'MAC address'): string {
  const t = s.trim();
  if (!/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(t)) throw invalid(`invalid ${what} "${s}": expected six hex bytes like 92:d0:c6:0a:29:33`);
  const b = t.split(/[:-]/).map((x) => parseInt(x, 16));
  if (b[0]! & 1) throw invalid(`invalid ${what} "${s}": a multicast address cannot be an interface's address (the first byte must be even, e.g. 02:...)`);
  if (b.every((x) => x === 0)) throw invalid(`invalid ${what} "${s}": the all-zero address cannot be an interface's address`);
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Buffer {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) throw invalid(`invalid MAC address "${s}": expected six hex bytes like 02:42:0a:58:00:02`);
  const b = Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
  if (b[0]! & 1) throw invalid(`invalid MAC address "${s}": a multicast address cannot be an interface address`);
  return b;
}
