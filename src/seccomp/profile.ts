// Validates an OCI `linux.seccomp` object once, at the edge, into a normalized profile: actions
// resolved to SECCOMP_RET_* values, argument values as unsigned 64-bit bigints, flags as bits.
// Every error names the offending field.
import type { LinuxSeccomp } from '../spec/types.js';

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

const EPERM = 1;

/** What a syscall from an architecture the filter does not list gets (libseccomp kills too). */
export const BAD_ARCH_RET = SECCOMP_RET_KILL_PROCESS;

export class SeccompError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SeccompError';
  }
}

export type CmpOp = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';
const OPS: ReadonlyMap<string, CmpOp> = new Map<string, CmpOp>([
  ['SCMP_CMP_NE', 'NE'], ['SCMP_CMP_LT', 'LT'], ['SCMP_CMP_LE', 'LE'], ['SCMP_CMP_EQ', 'EQ'],
  ['SCMP_CMP_GE', 'GE'], ['SCMP_CMP_GT', 'GT'], ['SCMP_CMP_MASKED_EQ', 'MASKED_EQ'],
]);

/** One argument test. MASKED_EQ means (arg & value) == valueTwo. */
export interface Cond {
  index: number;
  op: CmpOp;
  value: bigint;
  valueTwo: bigint;
}

/** A rule: when every condition holds (an empty list always holds), return `ret`. */
export interface Rule {
  ret: number;
  conds: Cond[];
}

export interface NormalizedSeccomp {
  defaultRet: number;
  /** Raw OCI architecture names, validated. */
  architectures: string[];
  /** Flags for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
  flags: number;
  /** True when some action is SCMP_ACT_NOTIFY: the load returns a listener fd. */
  notify: boolean;
  /** Rules in profile order, each with the syscall names it applies to. */
  rules: { names: string[]; rule: Rule }[];
}

const U64_MAX = (1n << 64n) - 1n;

function toU64(v: unknown, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) throw new SeccompError(field, `${v} is not an unsigned 64-bit integer`);
    return v;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new SeccompError(field, `${v} is not an unsigned 64-bit integer`);
    // A JSON number near 2^64 (e.g. 18446744073709551615) rounds up to 2^64 as a double.
    const b = BigInt(v);
    return b > U64_MAX ? U64_MAX : b;
  }
  if (typeof v === 'string' && /^(0|[1-9]\d*)$/.test(v)) return toU64(BigInt(v), field);
  throw new SeccompError(field, `expected an unsigned 64-bit integer, got ${JSON.stringify(v)}`);
}

function errnoValue(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > SECCOMP_RET_DATA) {
    throw new SeccompError(field, `expected an errno between 0 and 65535, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** SECCOMP_RET_* value of an OCI action; errnoRet applies to ERRNO and TRACE (default EPERM). */
export function actionRet(action: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  const data = () => (errnoRet === undefined || errnoRet === null ? EPERM : errnoValue(errnoRet, errnoField));
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | data()) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | data()) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET_USER_NOTIF;
    default:
      throw new SeccompError(field, `unknown action ${JSON.stringify(action)}`);
  }
}

const FLAGS: ReadonlyMap<string, number> = new Map([
  ['SECCOMP_FILTER_FLAG_TSYNC', SECCOMP_FILTER_FLAG_TSYNC],
  ['SECCOMP_FILTER_FLAG_LOG', SECCOMP_FILTER_FLAG_LOG],
  ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', SECCOMP_FILTER_FLAG_SPEC_ALLOW],
  ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV],
]);

const KNOWN_ARCH = /^SCMP_ARCH_[A-Z0-9_]+$/;

/**
 * Validates and normalizes. `knownArch` decides whether an architecture name is known (see
 * arch.ts); unknown ones are errors.
 */
export function normalizeSeccomp(
  spec: LinuxSeccomp,
  knownArch: (name: string) => boolean,
  base = 'linux.seccomp',
): NormalizedSeccomp {
  if (spec === null || typeof spec !== 'object') throw new SeccompError(base, 'expected an object');
  const defaultRet = actionRet(spec.defaultAction, spec.defaultErrnoRet, `${base}.defaultAction`, `${base}.defaultErrnoRet`);
  let notify = defaultRet === SECCOMP_RET_USER_NOTIF;

  const architectures: string[] = [];
  if (spec.architectures !== undefined && spec.architectures !== null) {
    if (!Array.isArray(spec.architectures)) throw new SeccompError(`${base}.architectures`, 'expected an array');
    spec.architectures.forEach((a, i) => {
      if (typeof a !== 'string' || !KNOWN_ARCH.test(a) || !knownArch(a)) {
        throw new SeccompError(`${base}.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}`);
      }
      if (!architectures.includes(a)) architectures.push(a);
    });
  }

  const rules: NormalizedSeccomp['rules'] = [];
  const syscalls = spec.syscalls ?? [];
  if (!Array.isArray(syscalls)) throw new SeccompError(`${base}.syscalls`, 'expected an array');
  syscalls.forEach((sc, i) => {
    const f = `${base}.syscalls[${i}]`;
    if (sc === null || typeof sc !== 'object') throw new SeccompError(f, 'expected an object');
    if (!Array.isArray(sc.names)) throw new SeccompError(`${f}.names`, 'expected an array of syscall names');
    sc.names.forEach((n, j) => {
      if (typeof n !== 'string' || n === '') throw new SeccompError(`${f}.names[${j}]`, `expected a syscall name, got ${JSON.stringify(n)}`);
    });
    const ret = actionRet(sc.action, sc.errnoRet, `${f}.action`, `${f}.errnoRet`);
    if (ret === SECCOMP_RET_USER_NOTIF) notify = true;
    const args = sc.args ?? [];
    if (!Array.isArray(args)) throw new SeccompError(`${f}.args`, 'expected an array');
    const conds = args.map((a, j): Cond => {
      const af = `${f}.args[${j}]`;
      if (a === null || typeof a !== 'object') throw new SeccompError(af, 'expected an object');
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        throw new SeccompError(`${af}.index`, `expected an argument index 0..5, got ${JSON.stringify(a.index)}`);
      }
      const op = OPS.get(a.op);
      if (!op) throw new SeccompError(`${af}.op`, `unknown operator ${JSON.stringify(a.op)}`);
      const value = toU64(a.value, `${af}.value`);
      const valueTwo = a.valueTwo === undefined || a.valueTwo === null ? 0n : toU64(a.valueTwo, `${af}.valueTwo`);
      return { index: a.index, op, value, valueTwo };
    });
    rules.push({ names: sc.names, rule: { ret, conds } });
  });

  let flags = 0;
  const specFlags = spec.flags ?? [];
  if (!Array.isArray(specFlags)) throw new SeccompError(`${base}.flags`, 'expected an array');
  specFlags.forEach((name, i) => {
    const bit = FLAGS.get(name);
    if (bit === undefined) throw new SeccompError(`${base}.flags[${i}]`, `unknown flag ${JSON.stringify(name)}`);
    if (bit === SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify) {
      throw new SeccompError(`${base}.flags[${i}]`, `${name} needs an SCMP_ACT_NOTIFY action in the profile`);
    }
    flags |= bit;
  });
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC together with NEW_LISTENER unless TSYNC_ESRCH is set too.
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  return { defaultRet, architectures, flags, notify, rules };
}

/** The value of `arg` seen by a rule on an ABI whose arguments are `bits` wide. */
export function argView(arg: bigint, bits: 32 | 64): bigint {
  return bits === 32 ? arg & 0xffffffffn : arg & U64_MAX;
}

/** Direct evaluation of one condition (the reference the BPF code is tested against). */
export function condHolds(c: Cond, arg: bigint): boolean {
  switch (c.op) {
    case 'EQ':
      return arg === c.value;
    case 'NE':
      return arg !== c.value;
    case 'LT':
      return arg < c.value;
    case 'LE':
      return arg <= c.value;
    case 'GT':
      return arg > c.value;
    case 'GE':
      return arg >= c.value;
    case 'MASKED_EQ':
      return (arg & c.value) === c.valueTwo;
  }
}
