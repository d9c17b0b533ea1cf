// DNS for user-defined networks: the wire format (RFC 1035: header, questions, A/PTR answers),
// and the resolver's decision for one query -- answer from the network's endpoints (container
// names, short ids, --network-alias), or forward upstream. Pure functions; the long-lived UDP
// server is dns-server.ts.
import { formatIPv4, isIPv4, parseIPv4 } from './cidr.js';
import { formatIPv6, ip6Bytes, ip6FromBytes, parseIPv6 } from './cidr6.js';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface Answer {
  name: string;
  type: number;
  ttl: number;
  /** A: dotted IPv4; AAAA: an IPv6 address; PTR: a domain name. */
  data: string;
}

export interface Message {
  id: number;
  /** QR, opcode, AA, TC, RD, RA, rcode as in the header's second word. */
  flags: number;
  questions: Question[];
  answers: Answer[];
}

export class DnsFormatError extends Error {}

const MAX_NAME = 255;

function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  let jumps = 0;
  let len = 0;
  for (;;) {
    if (off >= buf.length) throw new DnsFormatError('name runs past the message');
    const l = buf[off]!;
    if (l === 0) {
      off += 1;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 16) throw new DnsFormatError('compression loop');
      if (next < 0) next = off + 2;
      off = ((l & 0x3f) << 8) | buf[off + 1]!;
      continue;
    }
    if (l & 0xc0) throw new DnsFormatError('unsupported label type');
    if (off + 1 + l > buf.length) throw new DnsFormatError('label runs past the message');
    labels.push(buf.toString('latin1', off + 1, off + 1 + l));
    len += l + 1;
    if (len > MAX_NAME) throw new DnsFormatError('name too long');
    off += 1 + l;
  }
  return { name: labels.join('.'), next: next < 0 ? off : next };
}

function writeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length > 63) throw new DnsFormatError(`label too long in ${name}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  const out = Buffer.concat(bufs);
  if (out.length > MAX_NAME) throw new DnsFormatError(`name too long: ${name}`);
  return out;
}

/** Decodes a message's header and questions (answers of responses too, for A and PTR). */
export function decode(buf: Buffer): Message {
  if (buf.length < 12) throw new DnsFormatError('message shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  if (qd > 16 || an > 256) throw new DnsFormatError('too many records');
  let off = 12;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, off);
    if (n.next + 4 > buf.length) throw new DnsFormatError('truncated question');
    questions.push({ name: n.name, type: buf.readUInt16BE(n.next), class: buf.readUInt16BE(n.next + 2) });
    off = n.next + 4;
  }
  const answers: Answer[] = [];
  for (let i = 0; i < an; i++) {
    const n = readName(buf, off);
    if (n.next + 10 > buf.length) throw new DnsFormatError('truncated answer');
    const type = buf.readUInt16BE(n.next);
    const ttl = buf.readUInt32BE(n.next + 4);
    const rdlen = buf.readUInt16BE(n.next + 8);
    const rd = n.next + 10;
    if (rd + rdlen > buf.length) throw new DnsFormatError('truncated rdata');
    let data = '';
    if (type === TYPE.A && rdlen === 4) data = formatIPv4(buf.readUInt32BE(rd));
    else if (type === TYPE.AAAA && rdlen === 16) data = formatIPv6(ip6FromBytes(buf.subarray(rd, rd + 16)));
    else if (type === TYPE.PTR || type === TYPE.CNAME) data = readName(buf, rd).name;
    else data = buf.toString('hex', rd, rd + rdlen);
    answers.push({ name: n.name, type, ttl, data });
    off = rd + rdlen;
  }
  return { id, flags, questions, answers };
}

export function encode(m: Message): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(m.id, 0);
  h.writeUInt16BE(m.flags, 2);
  h.writeUInt16BE(m.questions.length, 4);
  h.writeUInt16BE(m.answers.length, 6);
  const parts: Buffer[] = [h];
  for (const q of m.questions) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(q.type, 0);
    t.writeUInt16BE(q.class, 2);
    parts.push(writeName(q.name), t);
  }
  for (const a of m.answers) {
    let rdata: Buffer;
    if (a.type === TYPE.A) {
      rdata = Buffer.alloc(4);
      rdata.writeUInt32BE(parseIPv4(a.data));
    } else if (a.type === TYPE.AAAA) rdata = ip6Bytes(parseIPv6(a.data));
    else rdata = writeName(a.data);
    const t = Buffer.alloc(10);
    t.writeUInt16BE(a.type, 0);
    t.writeUInt16BE(CLASS_IN, 2);
    t.writeUInt32BE(a.ttl, 4);
    t.writeUInt16BE(rdata.length, 8);
    parts.push(writeName(a.name), t, rdata);
  }
  return Buffer.concat(parts);
}

/** A query for tests and clients. */
export function query(id: number, name: string, type: number = TYPE.A): Buffer {
  return encode({ id, flags: 0x0100, questions: [{ name, type, class: CLASS_IN }], answers: [] });
}

const QR = 0x8000;
const AA = 0x0400;
const RD = 0x0100;
const RA = 0x0080;
const OPCODE = 0x7800;

export function responseFlags(queryFlags: number, rcode: number, authoritative: boolean): number {
  return QR | (queryFlags & (OPCODE | RD)) | RA | (authoritative ? AA : 0) | (rcode & 0xf);
}

export interface Records {
  /** Addresses of a name (lower case, no trailing dot), or undefined when unknown here. */
  lookup(name: string): string[] | undefined;
  /** The name of an address (for reverse queries), or undefined. */
  reverse(ip: string): string | undefined;
  /** IPv6 addresses of a known name (dual-stack networks); empty or absent otherwise. */
  lookup6?(name: string): string[] | undefined;
}

export const TTL = 600;

/** An in-addr.arpa name as a dotted IPv4 address, or undefined. */
export function ptrToIPv4(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
  if (!m) return undefined;
  const ip = `${m[4]}.${m[3]}.${m[2]}.${m[1]}`;
  return isIPv4(ip) ? ip : undefined;
}

/**
 * The local answer to a query, or 'forward' when the name is not the network's. A known name
 * with no record of the asked type gets an empty NOERROR answer (so resolvers do not wait for
 * AAAA), an unsupported opcode NOTIMP.
 */
export function answer(q: Message, records: Records): Message | 'forward' {
  const reply = (rcode: number, answers: Answer[], aa = true): Message => ({
    id: q.id, flags: responseFlags(q.flags, rcode, aa), questions: q.questions, answers,
  });
  if ((q.flags & OPCODE) !== 0) return reply(RCODE.NOTIMP, [], false);
  if (q.questions.length !== 1) return reply(RCODE.FORMERR, [], false);
  const qq = q.questions[0]!;
  const name = qq.name.toLowerCase().replace(/\.$/, '');
  if (qq.class !== CLASS_IN) return 'forward';
  if (qq.type === TYPE.PTR) {
    const ip = ptrToIPv4(name);
    const host = ip ? records.reverse(ip) : undefined;
    return host ? reply(RCODE.NOERROR, [{ name: qq.name, type: TYPE.PTR, ttl: TTL, data: host }]) : 'forward';
  }
  const ips = records.lookup(name);
  if (!ips) return 'forward';
  const a = ips.map((ip) => ({ name: qq.name, type: TYPE.A, ttl: TTL, data: ip }));
  const aaaa = (records.lookup6?.(name) ?? []).map((ip) => ({ name: qq.name, type: TYPE.AAAA, ttl: TTL, data: ip }));
  if (qq.type === TYPE.A) return reply(RCODE.NOERROR, a);
  if (qq.type === TYPE.AAAA) return reply(RCODE.NOERROR, aaaa);
  if (qq.type === TYPE.ANY) return reply(RCODE.NOERROR, [...a, ...aaaa]);
  return reply(RCODE.NOERROR, []);
}

/** A REFUSED for a client that may not ask. */
export function refused(q: Message): Buffer {
  return encode({ id: q.id, flags: responseFlags(q.flags, RCODE.REFUSED, false), questions: q.questions, answers: [] });
}

/** A SERVFAIL for a query that could not be forwarded. */
export function servfail(q: Message): Buffer {
  return encode({ id: q.id, flags: responseFlags(q.flags, RCODE.SERVFAIL, false), questions: q.questions, answers: [] });
}

/** Builds name -> addresses and address -> name from a network's allocations. */
export function recordsOf(allocs: { ip: string; ip6?: string; names: string[] }[]): Records {
  const byName = new Map<string, string[]>();
  const byName6 = new Map<string, string[]>();
  const byIp = new Map<string, string>();
  for (const a of allocs) {
    for (const n of a.names) {
      const k = n.toLowerCase();
      const l = byName.get(k);
      if (l) l.push(a.ip);
      else byName.set(k, [a.ip]);
      if (a.ip6) byName6.set(k, [...(byName6.get(k) ?? []), a.ip6]);
    }
    if (a.names[0]) byIp.set(a.ip, a.names[0]);
  }
  return { lookup: (n) => byName.get(n), reverse: (ip) => byIp.get(ip), lookup6: (n) => byName6.get(n) };
}
