// OCI linux.seccomp -> classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER).
//
// Shape of the program:
//   ld arch; jeq AUDIT_ARCH_a -> section a; jeq AUDIT_ARCH_b -> section b; ...; ret KILL_PROCESS
//   section: ld nr; binary search over syscall-number intervals (each interval has one outcome);
//            a pool of `ret` instructions; then one block per syscall whose rules test arguments.
// x86_64 and x32 share AUDIT_ARCH_X86_64 and form one section: numbers with __X32_SYSCALL_BIT
// set are x32 calls, the others x86_64 calls; the half whose ABI the profile does not list gets
// the bad-architecture action, as with libseccomp.
//
// Rule semantics: the rules naming a syscall are tried in profile order; the first whose
// conditions all hold (AND) decides; otherwise the default action applies. Arguments are
// unsigned 64-bit values compared as two 32-bit words, high word first; on 32-bit ABIs (x86,
// arm) only the low word of the argument is significant (the kernel ignores the rest).
import { ARCHES, RUNNABLE_ON, resolveNativeArch, scmpArch, type ArchInfo, type SeccompArch } from './arch.js';
import {
  Assembler, BPF_MAXINSNS, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, argHighOffset, argLowOffset, encodeProgram,
  type Label,
} from './bpf.js';
import {
  BAD_ARCH_RET, SeccompError, normalizeSeccomp, type Cond, type NormalizedSeccomp, type Rule,
} from './profile.js';
import { syscallTable } from './syscalls.js';
import type { LinuxSeccomp } from '../spec/types.js';

export interface CompileOptions {
  /** Host architecture (Node's process.arch, "x86_64", "SCMP_ARCH_X86_64", ...); default: this host. */
  nativeArch?: string;
}

export interface CompiledSeccomp {
  /** struct sock_filter[], little-endian. */
  program: Buffer;
  /** Flags for seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). */
  flags: number;
  /** The filter has SCMP_ACT_NOTIFY: loading it returns a listener fd (NEW_LISTENER is set). */
  notify: boolean;
  /** Syscall names no target architecture knows (ignored, as the OCI spec allows). */
  skipped: string[];
}

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
const LO = 0xffffffffn;

/** On 32-bit x86, socket and SysV IPC calls can also arrive multiplexed through these. */
const X86_SOCKETCALL: Readonly<Record<string, number>> = {
  socket: 1, bind: 2, connect: 3, listen: 4, accept: 5, getsockname: 6, getpeername: 7,
  socketpair: 8, send: 9, recv: 10, sendto: 11, recvfrom: 12, shutdown: 13, setsockopt: 14,
  getsockopt: 15, sendmsg: 16, recvmsg: 17, accept4: 18, recvmmsg: 19, sendmmsg: 20,
};
const X86_IPC: Readonly<Record<string, number>> = {
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
  shmat: 21, shmdt: 22, shmget: 23, shmctl: 24,
};

/** The ABIs a filter covers: the native one always (as runc and crun do), then listed runnable ones. */
export function targetArches(norm: NormalizedSeccomp, native: SeccompArch): SeccompArch[] {
  const out: SeccompArch[] = [native];
  for (const name of norm.architectures) {
    const a = scmpArch(name);
    // Architectures this host cannot run never reach the filter; they need no code.
    if (a && RUNNABLE_ON[native].includes(a) && !out.includes(a)) out.push(a);
  }
  return out;
}

/** Per target ABI: syscall number -> rules naming it, in profile order. */
export function rulesByNumber(
  norm: NormalizedSeccomp,
  arches: readonly SeccompArch[],
): { perArch: Map<SeccompArch, Map<number, Rule[]>>; skipped: string[] } {
  const perArch = new Map<SeccompArch, Map<number, Rule[]>>();
  const skipped: string[] = [];
  const seen = new Set<string>(); // of skipped: a profile may list tens of thousands of unknown names
  for (const a of arches) perArch.set(a, new Map());
  const add = (a: SeccompArch, nr: number, rule: Rule) => {
    const m = perArch.get(a)!;
    let list = m.get(nr);
    if (!list) m.set(nr, (list = []));
    list.push(rule);
  };
  for (const { names, rule } of norm.rules) {
    for (const name of names) {
      let known = false;
      for (const a of arches) {
        const table = syscallTable(a);
        const nr = table.get(name);
        if (nr !== undefined) {
          known = true;
          add(a, nr, rule);
        }
        if (a === 'x86' && rule.conds.length === 0) {
          // Arguments of multiplexed calls sit in user memory, out of a filter's reach: only
          // rules without argument tests carry over to socketcall(2)/ipc(2).
          const sub = Object.hasOwn(X86_SOCKETCALL, name) ? X86_SOCKETCALL[name] : undefined; // names are user input: no prototype keys
          if (sub !== undefined) {
            known = true;
            add(a, table.get('socketcall')!, { ret: rule.ret, conds: [{ index: 0, op: 'EQ', value: BigInt(sub), valueTwo: 0n }] });
          }
          const ipc = Object.hasOwn(X86_IPC, name) ? X86_IPC[name] : undefined;
          if (ipc !== undefined) {
            known = true;
            // ipc(2) takes the call in the low 16 bits (the high ones carry a version).
            add(a, table.get('ipc')!, { ret: rule.ret, conds: [{ index: 0, op: 'MASKED_EQ', value: 0xffffn, valueTwo: BigInt(ipc) }] });
          }
        }
      }
      if (!known && !seen.has(name)) {
        seen.add(name);
        skipped.push(name);
      }
    }
  }
  return { perArch, skipped };
}

/**
 * Decides a condition that cannot depend on the argument: true (always holds), false (never),
 * or the condition itself. `bits` is the ABI's argument width.
 */
export function foldCond(c: Cond, bits: 32 | 64): Cond | boolean {
  const max = bits === 32 ? LO : U64_MAX;
  const { value: v, valueTwo: d } = c;
  switch (c.op) {
    case 'EQ':
      return v > max ? false : c;
    case 'NE':
      return v > max ? true : c;
    case 'LT':
      return v === 0n ? false : v > max ? true : c;
    case 'LE':
      return v >= max ? true : c;
    case 'GT':
      return v >= max ? false : c;
    case 'GE':
      return v === 0n ? true : v > max ? false : c;
    case 'MASKED_EQ': {
      const m = v & max;
      if ((d & ~m) !== 0n) return false; // bits outside the mask can never match
      if (m === 0n) return true; // (arg & 0) == 0
      return c;
    }
  }
}

type Outcome = { kind: 'ret'; ret: number } | { kind: 'block'; bits: 32 | 64; rules: Rule[]; fallthrough: number };

/** Reduces the rules of one syscall to a plain action when argument tests cannot change it. */
export function simplifyRules(rules: readonly Rule[], defaultRet: number, bits: 32 | 64): Outcome {
  const kept: Rule[] = [];
  let fallthrough = defaultRet;
  for (const r of rules) {
    const conds: Cond[] = [];
    let never = false;
    for (const c of r.conds) {
      const f = foldCond(c, bits);
      if (f === false) never = true;
      else if (f !== true) conds.push(f);
    }
    if (never) continue;
    if (conds.length === 0) {
      fallthrough = r.ret; // unconditional: later rules are unreachable
      break;
    }
    kept.push({ ret: r.ret, conds });
  }
  while (kept.length > 0 && kept[kept.length - 1]!.ret === fallthrough) kept.pop();
  if (kept.length === 0) return { kind: 'ret', ret: fallthrough };
  return { kind: 'block', bits, rules: kept, fallthrough };
}

function outcomeKey(o: Outcome): string {
  if (o.kind === 'ret') return `r${o.ret}`;
  const conds = (r: Rule) => r.conds.map((c) => `${c.index}${c.op}${c.value}/${c.valueTwo}`).join('&');
  return `b${o.bits}:${o.rules.map((r) => `${r.ret}?${conds(r)}`).join(';')}:${o.fallthrough}`;
}

interface Segment {
  lo: number;
  hi: number;
  out: Outcome;
  key: string;
}

/** Intervals covering [0, 2^32) with one outcome each, adjacent equal outcomes merged. */
function segmentsFor(section: readonly ArchInfo[], perArch: Map<SeccompArch, Map<number, Rule[]>>, defaultRet: number): Segment[] {
  const segs: Segment[] = [];
  const push = (lo: number, hi: number, out: Outcome) => {
    const key = outcomeKey(out);
    const last = segs[segs.length - 1];
    if (last && last.key === key && last.hi + 1 === lo) last.hi = hi;
    else segs.push({ lo, hi, out, key });
  };
  const bad: Outcome = { kind: 'ret', ret: BAD_ARCH_RET };
  const dflt: Outcome = { kind: 'ret', ret: defaultRet };
  let cursor = 0;
  for (const info of [...section].sort((a, b) => a.nrMin - b.nrMin)) {
    if (info.nrMin > cursor) push(cursor, info.nrMin - 1, bad);
    let c = info.nrMin;
    const entries = [...perArch.get(info.arch)!].sort((a, b) => a[0] - b[0]);
    for (const [nr, rules] of entries) {
      if (nr < info.nrMin || nr > info.nrMax) continue;
      if (nr > c) push(c, nr - 1, dflt);
      push(nr, nr, simplifyRules(rules, defaultRet, info.argBits));
      c = nr + 1;
    }
    if (c <= info.nrMax) push(c, info.nrMax, dflt);
    cursor = info.nrMax + 1;
  }
  if (cursor <= U32_MAX) push(cursor, U32_MAX, bad);
  return segs;
}

/** Emits one section (A is loaded with seccomp_data.nr first). */
function emitSection(asm: Assembler, segs: readonly Segment[]): void {
  const first = segs[0]!;
  if (segs.length === 1 && first.out.kind === 'ret') {
    asm.ret(first.out.ret);
    return;
  }
  const pool = new Map<string, { label: Label; out: Outcome }>();
  const target = (s: Segment): Label => {
    let p = pool.get(s.key);
    if (!p) pool.set(s.key, (p = { label: asm.label(), out: s.out }));
    return p.label;
  };
  asm.ld(SECCOMP_DATA_NR);
  // Binary search: node code first, then its lower half (fall-through), then its upper half.
  const tree = (lo: number, hi: number): void => {
    // Three intervals whose outer two share an outcome around a single number: one jeq.
    if (hi - lo === 2 && segs[lo]!.key === segs[hi]!.key && segs[lo + 1]!.lo === segs[lo + 1]!.hi) {
      asm.jcond('jeq', segs[lo + 1]!.lo, target(segs[lo + 1]!), target(segs[lo]!));
      return;
    }
    const mid = (lo + hi + 1) >> 1;
    const leftLeaf = mid - 1 === lo;
    const rightLeaf = mid === hi;
    const left = leftLeaf ? target(segs[lo]!) : asm.label();
    const right = rightLeaf ? target(segs[mid]!) : asm.label();
    asm.jcond('jge', segs[mid]!.lo, right, left);
    if (!leftLeaf) {
      asm.place(left);
      tree(lo, mid - 1);
    }
    if (!rightLeaf) {
      asm.place(right);
      tree(mid, hi);
    }
  };
  tree(0, segs.length - 1);
  const entries = [...pool.values()];
  for (const { label, out } of entries) {
    if (out.kind !== 'ret') continue;
    asm.place(label);
    asm.ret(out.ret);
  }
  for (const { label, out } of entries) {
    if (out.kind !== 'block') continue;
    asm.place(label);
    emitBlock(asm, out);
  }
}

/** The rules of one syscall: each rule's conditions fall through on success to its `ret`. */
function emitBlock(asm: Assembler, o: Extract<Outcome, { kind: 'block' }>): void {
  for (const rule of o.rules) {
    const fail = asm.label();
    const st: AState = { a: null };
    for (const c of rule.conds) emitCond(asm, c, o.bits, fail, st);
    asm.ret(rule.ret);
    asm.place(fail);
  }
  asm.ret(o.fallthrough);
}

/** What the accumulator holds on the fall-through path: an unmodified word of seccomp_data. */
interface AState {
  a: number | null;
}

function load(asm: Assembler, st: AState, off: number): void {
  if (st.a !== off) asm.ld(off);
  st.a = off;
}

/**
 * Tests `c` (already folded for `bits`); jumps to `fail` when it does not hold and falls
 * through when it does. 64-bit values are compared high word first: the low words decide only
 * when the high words are equal.
 */
function emitCond(asm: Assembler, c: Cond, bits: 32 | 64, fail: Label, st: AState): void {
  const pass = asm.label();
  const loOff = argLowOffset(c.index);
  const hiOff = argHighOffset(c.index);
  const vlo = Number(c.value & LO);
  const vhi = Number((c.value >> 32n) & LO);
  let early = false; // a jump reaches `pass` from the high-word test (A then holds that word)
  const wide = bits === 64;

  switch (c.op) {
    case 'EQ':
    case 'NE': {
      const eq = c.op === 'EQ';
      if (wide) {
        const hiNext = asm.label();
        load(asm, st, hiOff);
        asm.jcond('jeq', vhi, hiNext, eq ? fail : pass);
        asm.place(hiNext);
        early = !eq;
      }
      load(asm, st, loOff);
      asm.jcond('jeq', vlo, eq ? pass : fail, eq ? fail : pass);
      break;
    }
    case 'GT':
    case 'GE':
    case 'LT':
    case 'LE': {
      // arg > v  <=>  hi > vhi || (hi == vhi && lo > vlo); LT/LE are the negations of GE/GT.
      const greater = c.op === 'GT' || c.op === 'GE';
      const yes = greater ? pass : fail; // where "arg is above v" leads
      const no = greater ? fail : pass;
      if (wide) {
        const loTest = asm.label();
        load(asm, st, hiOff);
        if (vhi < U32_MAX) {
          const next = asm.label();
          asm.jcond('jgt', vhi, yes, vhi > 0 ? next : loTest);
          asm.place(next);
        }
        if (vhi > 0) asm.jcond('jeq', vhi, loTest, no);
        asm.place(loTest);
        early = true;
      }
      load(asm, st, loOff);
      const strict = c.op === 'GT' || c.op === 'LE';
      asm.jcond(strict ? 'jgt' : 'jge', vlo, yes, no);
      break;
    }
    case 'MASKED_EQ': {
      const mlo = Number(c.value & LO);
      const mhi = Number((c.value >> 32n) & LO);
      const dlo = Number(c.valueTwo & LO);
      const dhi = Number((c.valueTwo >> 32n) & LO);
      const word = (off: number, m: number, d: number, last: boolean) => {
        const ok = last ? pass : asm.label();
        load(asm, st, off);
        if (d === 0) {
          asm.jcond('jset', m, fail, ok); // no masked bit set
        } else if (d === m && (m & (m - 1)) === 0) {
          asm.jcond('jset', m, ok, fail); // the single masked bit set
        } else {
          if (m !== U32_MAX) {
            asm.and(m);
            st.a = null;
          }
          asm.jcond('jeq', d, ok, fail);
        }
        if (!last) asm.place(ok);
      };
      const needLo = mlo !== 0; // folding guarantees d's bits lie inside the mask
      if (wide && mhi !== 0) word(hiOff, mhi, dhi, !needLo);
      if (needLo) word(loOff, mlo, dlo, true);
      break;
    }
  }
  asm.place(pass);
  if (early) st.a = null;
}

/** Compiles an OCI seccomp profile. Throws SeccompError naming the field on invalid input. */
export function compileSeccomp(spec: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const native = resolveNativeArch(opts.nativeArch);
  const norm = normalizeSeccomp(spec, (n) => scmpArch(n) !== undefined);
  const arches = targetArches(norm, native);
  const { perArch, skipped } = rulesByNumber(norm, arches);

  // Sections by AUDIT_ARCH value, in target order (native first: most syscalls come from it).
  const sections: ArchInfo[][] = [];
  for (const a of arches) {
    const info = ARCHES[a];
    const s = sections.find((x) => x[0]!.auditArch === info.auditArch);
    if (s) s.push(info);
    else sections.push([info]);
  }

  const asm = new Assembler();
  const labels = sections.map(() => asm.label());
  const bad = asm.label();
  asm.ld(SECCOMP_DATA_ARCH);
  sections.forEach((s, i) => {
    const next = i + 1 < sections.length ? asm.label() : bad;
    asm.jcond('jeq', s[0]!.auditArch, labels[i]!, next);
    if (next !== bad) asm.place(next);
  });
  asm.place(bad);
  asm.ret(BAD_ARCH_RET);
  sections.forEach((s, i) => {
    asm.place(labels[i]!);
    emitSection(asm, segmentsFor(s, perArch, norm.defaultRet));
  });

  const raw = asm.assemble();
  if (raw.length > BPF_MAXINSNS) {
    throw new SeccompError('linux.seccomp', `the compiled filter has ${raw.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`);
  }
  return { program: encodeProgram(raw), flags: norm.flags, notify: norm.notify, skipped };
}
