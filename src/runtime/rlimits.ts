// process.rlimits: names -> numbers, and a clear error for limits this host cannot grant.
import { readFileSync } from 'node:fs';
import type { POSIXRlimit } from '../spec/types.js';
import { RuntimeError } from './errors.js';

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

// /proc/self/limits row titles, in resource-number order.
const TITLES = [
  'Max cpu time', 'Max file size', 'Max data size', 'Max stack size', 'Max core file size',
  'Max resident set', 'Max processes', 'Max open files', 'Max locked memory', 'Max address space',
  'Max file locks', 'Max pending signals', 'Max msgqueue size', 'Max nice priority',
  'Max realtime priority', 'Max realtime timeout',
];

const UNLIMITED = 2 ** 64 - 1;

/** Hard limits of this process (what a child without CAP_SYS_RESOURCE can get at most). */
export function hostHardLimits(limitsText = readFileSync('/proc/self/limits', 'utf8')): number[] {
  const out: number[] = [];
  for (const line of limitsText.split('\n')) {
    const idx = TITLES.findIndex((t) => line.startsWith(t));
    if (idx < 0) continue;
    const cols = line.slice(26).trim().split(/\s+/);
    const hard = cols[1];
    out[idx] = hard === 'unlimited' || hard === undefined ? UNLIMITED : Number(hard);
  }
  return out;
}

export function hasCapSysResource(statusText = readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(statusText);
  return m ? (BigInt('0x' + m[1]) & (1n << 24n)) !== 0n : false;
}

/** Checks every rlimit against the host and returns [resource, soft, hard] triples. */
export function compileRlimits(rlimits: readonly POSIXRlimit[], canRaise = hasCapSysResource()): [number, string, string][] {
  if (rlimits.length === 0) return [];
  const hard = canRaise ? [] : hostHardLimits();
  return rlimits.map((r, i) => {
    const res = RLIMITS[r.type];
    if (res === undefined) throw new RuntimeError(`config.json: process.rlimits[${i}].type: unknown rlimit "${r.type}"`);
    const max = hard[res];
    if (max !== undefined && max !== UNLIMITED && r.hard > max) {
      throw new RuntimeError(
        `config.json: process.rlimits[${i}]: ${r.type} hard limit ${r.hard} is above this host's hard limit ${max} ` +
          `(raising it needs CAP_SYS_RESOURCE, which berth does not have here); use at most ${max}`,
      );
    }
    const fmt = (v: number) => (v >= UNLIMITED ? '-1' : String(v));
    return [res, fmt(r.soft), fmt(r.hard)];
  });
}
