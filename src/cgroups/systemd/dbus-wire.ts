// The D-Bus wire format (little-endian), just what berth's systemd driver needs: marshal and
// unmarshal any value of a signature made of y b n q i u x t d s o g a(...) {..} v, and whole
// messages (header fields + body). Values: numbers (x/t also accept bigint), strings, booleans,
// arrays for arrays and structs, Buffer/Uint8Array for "ay", a Variant for "v".
//
// Why not an npm library: dbus-next (the maintained one) has no peer-to-peer connections (it
// always sends Hello, which systemd's private socket does not answer) and only async calls; the
// cgroup manager interface is synchronous. This file is the protocol; ./dbus-sync.ts the socket.

export interface Variant {
  sig: string;
  value: unknown;
}

export const variant = (sig: string, value: unknown): Variant => ({ sig, value });

export const MSG = { call: 1, reply: 2, error: 3, signal: 4 } as const;

export interface Message {
  type: number;
  flags?: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const FIELD_SIG: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g' };

function alignOf(c: string): number {
  switch (c) {
    case 'y': case 'g': case 'v': return 1;
    case 'n': case 'q': return 2;
    case 'x': case 't': case 'd': case '(': case '{': return 8;
    default: return 4; // b i u s o a h
  }
}

/** Split a signature into complete types: "sa(sv)" -> ["s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sig.length) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === undefined) throw new Error(`D-Bus signature "${sig}" ends early`);
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`D-Bus signature "${sig}" has an unclosed ${c}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (!'ybnqiuxtdsogvh'.includes(c)) throw new Error(`D-Bus signature "${sig}": unknown type code ${c}`);
  return i + 1;
}

class Writer {
  private buf = Buffer.alloc(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  pad(a: number): void {
    const n = (a - (this.len % a)) % a;
    this.room(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  num(c: string, v: unknown): void {
    this.pad(alignOf(c));
    this.room(8);
    const b = this.buf;
    const o = this.len;
    switch (c) {
      case 'y': b.writeUInt8(Number(v), o); this.len += 1; return;
      case 'n': b.writeInt16LE(Number(v), o); this.len += 2; return;
      case 'q': b.writeUInt16LE(Number(v), o); this.len += 2; return;
      case 'b': b.writeUInt32LE(v ? 1 : 0, o); this.len += 4; return;
      case 'i': b.writeInt32LE(Number(v), o); this.len += 4; return;
      case 'u': case 'h': b.writeUInt32LE(Number(v), o); this.len += 4; return;
      case 'x': b.writeBigInt64LE(BigInt(v as number | bigint), o); this.len += 8; return;
      case 't': b.writeBigUInt64LE(BigInt(v as number | bigint), o); this.len += 8; return;
      case 'd': b.writeDoubleLE(Number(v), o); this.len += 8; return;
    }
  }

  value(sig: string, v: unknown): void {
    const c = sig[0]!;
    switch (c) {
      case 's': case 'o': {
        const s = Buffer.from(String(v), 'utf8');
        this.num('u', s.length);
        this.bytes(s);
        this.bytes(Buffer.of(0));
        return;
      }
      case 'g': {
        const s = Buffer.from(String(v), 'utf8');
        this.num('y', s.length);
        this.bytes(s);
        this.bytes(Buffer.of(0));
        return;
      }
      case 'v': {
        const x = v as Variant;
        this.value('g', x.sig);
        this.value(x.sig, x.value);
        return;
      }
      case 'a': {
        const elem = sig.slice(1);
        this.num('u', 0);
        const lenAt = this.len - 4;
        this.pad(alignOf(elem[0]!));
        const start = this.len;
        if (elem === 'y' && v instanceof Uint8Array) this.bytes(v);
        else if (elem[0] === '{' && !Array.isArray(v)) {
          const [k, val] = splitSignature(elem.slice(1, -1));
          for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
            this.pad(8);
            this.value(k!, key);
            this.value(val!, x);
          }
        } else for (const x of v as unknown[]) this.value(elem, x);
        this.buf.writeUInt32LE(this.len - start, lenAt);
        return;
      }
      case '(': case '{': {
        this.pad(8);
        const parts = splitSignature(sig.slice(1, -1));
        const xs = v as unknown[];
        parts.forEach((p, i) => this.value(p, xs[i]));
        return;
      }
      default:
        this.num(c, v);
    }
  }

  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

class Reader {
  constructor(private readonly b: Buffer, public off = 0) {}

  pad(a: number): void {
    this.off += (a - (this.off % a)) % a;
  }

  private need(n: number): void {
    if (this.off + n > this.b.length) throw new Error('D-Bus message is truncated');
  }

  value(sig: string): unknown {
    const c = sig[0]!;
    this.pad(alignOf(c));
    switch (c) {
      case 'y': this.need(1); return this.b.readUInt8(this.off++);
      case 'n': this.need(2); this.off += 2; return this.b.readInt16LE(this.off - 2);
      case 'q': this.need(2); this.off += 2; return this.b.readUInt16LE(this.off - 2);
      case 'b': this.need(4); this.off += 4; return this.b.readUInt32LE(this.off - 4) !== 0;
      case 'i': this.need(4); this.off += 4; return this.b.readInt32LE(this.off - 4);
      case 'u': case 'h': this.need(4); this.off += 4; return this.b.readUInt32LE(this.off - 4);
      case 'x': case 't': {
        this.need(8);
        const big = c === 'x' ? this.b.readBigInt64LE(this.off) : this.b.readBigUInt64LE(this.off);
        this.off += 8;
        return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
      }
      case 'd': this.need(8); this.off += 8; return this.b.readDoubleLE(this.off - 8);
      case 's': case 'o': {
        const n = this.value('u') as number;
        this.need(n + 1);
        const s = this.b.toString('utf8', this.off, this.off + n);
        this.off += n + 1;
        return s;
      }
      case 'g': {
        const n = this.value('y') as number;
        this.need(n + 1);
        const s = this.b.toString('utf8', this.off, this.off + n);
        this.off += n + 1;
        return s;
      }
      case 'v': {
        const s = this.value('g') as string;
        return variant(s, this.value(s));
      }
      case 'a': {
        const n = this.value('u') as number;
        const elem = sig.slice(1);
        this.pad(alignOf(elem[0]!));
        this.need(n);
        const end = this.off + n;
        if (elem === 'y') {
          const out = Buffer.from(this.b.subarray(this.off, end));
          this.off = end;
          return out;
        }
        const out: unknown[] = [];
        while (this.off < end) out.push(this.value(elem));
        return out;
      }
      case '(': case '{':
        return splitSignature(sig.slice(1, -1)).map((p) => this.value(p));
      default:
        throw new Error(`D-Bus type ${c} is not supported`);
    }
  }
}

/** Marshal values of a signature (used for message bodies; exported for tests). */
export function marshal(sig: string, values: unknown[]): Buffer {
  const w = new Writer();
  splitSignature(sig).forEach((t, i) => w.value(t, values[i]));
  return w.done();
}

export function unmarshal(sig: string, buf: Buffer): unknown[] {
  const r = new Reader(buf);
  return splitSignature(sig).map((t) => r.value(t));
}

export function encodeMessage(m: Message): Buffer {
  const body = m.body?.length ? marshal(m.signature ?? '', m.body) : Buffer.alloc(0);
  const fields: [number, Variant][] = [];
  for (const [name, code] of Object.entries(FIELD)) {
    const v = m[name as keyof typeof FIELD];
    if (v !== undefined && !(name === 'signature' && v === '')) fields.push([code, variant(FIELD_SIG[code]!, v)]);
  }
  const w = new Writer();
  w.value('y', 'l'.charCodeAt(0));
  w.value('y', m.type);
  w.value('y', m.flags ?? 0);
  w.value('y', 1);
  w.value('u', body.length);
  w.value('u', m.serial);
  w.value('a(yv)', fields);
  w.pad(8);
  w.bytes(body);
  return w.done();
}

/** Length of the first complete message in `buf`, or 0 when more bytes are needed. */
export function messageLength(buf: Buffer): number {
  if (buf.length < 16) return 0;
  if (buf[0] !== 0x6c) throw new Error('D-Bus peer sent a big-endian message (not supported)');
  const fieldsLen = buf.readUInt32LE(12);
  const headerEnd = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  const total = headerEnd + buf.readUInt32LE(4);
  return buf.length >= total ? total : 0;
}

export function decodeMessage(buf: Buffer): Message {
  const r = new Reader(buf, 1);
  const type = r.value('y') as number;
  const flags = r.value('y') as number;
  r.value('y');
  const bodyLen = r.value('u') as number;
  const serial = r.value('u') as number;
  const m: Message = { type, flags, serial };
  for (const [code, v] of r.value('a(yv)') as [number, Variant][]) {
    const name = (Object.keys(FIELD) as (keyof typeof FIELD)[]).find((k) => FIELD[k] === code);
    if (name) (m as unknown as Record<string, unknown>)[name] = v.value;
  }
  r.pad(8);
  const body = buf.subarray(r.off, r.off + bodyLen);
  m.body = m.signature ? unmarshal(m.signature, Buffer.from(body)) : [];
  return m;
}
