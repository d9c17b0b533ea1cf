// Per-container egress rate limit (attach's `egressRate`): a tbf qdisc as the root of the
// container's own interface (eth0, eth1, ...), installed by the same berth-netlink plan that
// configures the interface (one RTM_NEWQDISC message, no `tc` process).
//
// Why tbf on the container side of the veth, not a policer on the host side:
//  - it shapes (queues and paces) instead of dropping: TCP in the container sees backpressure
//    through its own qdisc (TCP small queues) and sends at the rate, so the limit is accurate and
//    costs no retransmissions; a policer on the host end's ingress drops, and TCP through a
//    policer oscillates well below or above the rate;
//  - it needs no extra device (an ifb per container to shape host-side ingress) and goes away
//    with the container's netns, so there is nothing to clean up or reconcile;
//  - the catch: a container granted CAP_NET_ADMIN can replace its own qdisc. Containers get no
//    CAP_NET_ADMIN by default; for one that has it the limit is advisory (documented).
import { invalid } from './errors.js';
import { attr, cstr, nested, nlmsg, NLM_F, u32 } from './netlink.js';

export const RTM_NEWQDISC = 36;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_TBF_BURST = 6;
const TC_H_ROOT = 0xffffffff;
const TC_LINKLAYER_ETHERNET = 1;

/** The offset of tcm_ifindex in msgTbf's message (patched by IFINDEX): header 16 + 4. */
export const QDISC_INDEX_OFFSET = 16 + 4;

// tc(8)'s units: bits per second (bit, kbit, mbit, gbit, tbit; kibit... 1024-based) and bytes
// per second (bps, kbps, mbps, gbps; kibps...).
const UNITS: Record<string, number> = {
  bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8, tbit: 1e12 / 8,
  kibit: 1024 / 8, mibit: 1024 ** 2 / 8, gibit: 1024 ** 3 / 8, tibit: 1024 ** 4 / 8,
  bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9, tbps: 1e12,
  kibps: 1024, mibps: 1024 ** 2, gibps: 1024 ** 3, tibps: 1024 ** 4,
};

/** The slowest sensible limit (a few packets a second would stall TCP entirely). */
export const MIN_RATE = 1000;

/**
 * `egressRate`: a number of bytes per second, or a string with tc's units ("10mbit", "1mibps",
 * "512kbit"). Returns bytes per second.
 */
export function parseRate(v: string | number, what = 'egressRate'): number {
  let bytes: number;
  if (typeof v === 'number') bytes = v;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(v);
    const unit = m?.[2]!.toLowerCase();
    if (!m || !unit || !(unit in UNITS)) {
      throw invalid(`invalid ${what} "${v}": expected a number of bytes per second or a rate with a unit like 10mbit, 512kbit, 1mibps (bit, kbit, mbit, gbit, bps, kbps, mbps, kibps, mibps)`);
    }
    bytes = Number(m[1]) * UNITS[unit]!;
  }
  if (!Number.isFinite(bytes) || bytes < MIN_RATE) throw invalid(`invalid ${what} "${v}": at least ${MIN_RATE} bytes per second (8kbit)`);
  if (bytes > 2 ** 40) throw invalid(`invalid ${what} "${v}": more than 1 TiB per second`);
  return Math.round(bytes);
}

/**
 * Burst and queue for a rate: the bucket holds 10 ms of traffic (at least two full frames, so a
 * frame always fits: tbf refuses packets bigger than the bucket), the queue ~100 ms more before
 * tail drop (UDP senders; TCP is held back by the qdisc long before).
 */
export function tbfSizes(rate: number, mtu: number): { burst: number; limit: number } {
  const burst = Math.max(Math.ceil(rate / 100), 2 * (mtu + 14));
  return { burst, limit: Math.max(Math.ceil(rate / 10), 2 * burst) + burst };
}

/** struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate (bytes/s, u32). */
function ratespec(rate: number, linklayer: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(0, 0);
  b.writeUInt8(linklayer, 1);
  b.writeUInt32LE(Math.min(rate, 0xffffffff), 8);
  return b;
}

/**
 * `tc qdisc replace dev <index> root handle 1: tbf rate <rate> burst <burst> limit <limit>`.
 * With linklayer ethernet set the kernel computes the rate itself (no 1 KiB rate table);
 * TCA_TBF_BURST gives the bucket in bytes; rates over 4 GiB/s go in TCA_TBF_RATE64.
 */
export function msgTbf(index: number, o: { rate: number; burst: number; limit: number }): Buffer {
  const tcmsg = Buffer.alloc(20);
  tcmsg.writeUInt8(0, 0); // AF_UNSPEC
  tcmsg.writeInt32LE(index, 4);
  tcmsg.writeUInt32LE(0x10000, 8); // handle 1:
  tcmsg.writeUInt32LE(TC_H_ROOT, 12);
  const qopt = Buffer.concat([ratespec(o.rate, TC_LINKLAYER_ETHERNET), ratespec(0, 0), u32(o.limit), u32(0), u32(0)]);
  const opts = [attr(TCA_TBF_PARMS, qopt), attr(TCA_TBF_BURST, u32(o.burst))];
  if (o.rate > 0xffffffff) {
    const r64 = Buffer.alloc(8);
    r64.writeBigUInt64LE(BigInt(o.rate));
    opts.push(attr(TCA_TBF_RATE64, r64));
  }
  return nlmsg(RTM_NEWQDISC, NLM_F.CREATE | NLM_F.REPLACE, tcmsg, [attr(TCA_KIND, cstr('tbf')), nested(TCA_OPTIONS, opts)]);
}
