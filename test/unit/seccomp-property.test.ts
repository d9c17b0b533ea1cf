// Property test: for random profiles and random seccomp_data, the compiled BPF program returns
// what a direct TypeScript evaluation of the rules returns.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ARCHES, X32_SYSCALL_BIT, type SeccompArch } from '../../src/seccomp/arch.js';
import { decodeProgram, disassemble } from '../../src/seccomp/bpf.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { syscallNumber } from '../../src/seccomp/syscalls.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall } from '../../src/spec/types.js';
import { checkProgram, runProgram, type SeccompData } from './seccomp-bpf-interp.js';
import { referenceAction } from './seccomp-reference.js';

const U64 = (1n << 64n) - 1n;
// Few names, so that rules often meet on one syscall; some exist on only some ABIs, one on none.
const NAMES = [
  'getpid', 'getppid', 'socket', 'shmget', 'clone', 'mkdir', 'breakpoint', 'arch_prctl',
  'rt_sigaction', 'no_such_call', 'socketcall', 'clock_gettime64', 'riscv_flush_icache',
];
const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const SCMP_ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_RISCV64'];
const NATIVES: SeccompArch[] = ['x86_64', 'aarch64', 'riscv64', 'x86', 'arm', 'x32'];
const ALL_ABIS = Object.keys(ARCHES) as SeccompArch[];

const EDGES = [0n, 1n, 2n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0001n, 0xffff_ffff_0000_0000n, 1n << 63n, U64];
const u64: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...EDGES),
  fc.bigInt({ min: 0n, max: 0xffn }),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
  fc.bigInt({ min: 0n, max: U64 }),
  // same low word as an edge, random high word and vice versa
  fc.tuple(fc.bigInt({ min: 0n, max: 3n }), fc.bigInt({ min: 0n, max: 3n })).map(([h, l]) => (h << 32n) | l),
);

const argArb: fc.Arbitrary<LinuxSeccompArg> = fc
  .record({
    index: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 5 })),
    op: fc.constantFrom(...OPS),
    value: u64,
    // for MASKED_EQ: a valueTwo inside the mask most of the time (else the rule never matches)
    two: fc.oneof(fc.constant(-1n), fc.constant(0n), u64),
    sub: u64,
  })
  .map(({ index, op, value, two, sub }) => {
    const valueTwo = two === -1n ? value : two === 0n ? 0n : sub % 3n === 0n ? two : value & two;
    return { index, op, value: value as unknown as number, valueTwo: valueTwo as unknown as number };
  });

const ruleArb: fc.Arbitrary<LinuxSyscall> = fc.record(
  {
    names: fc.subarray(NAMES, { minLength: 1, maxLength: 4 }),
    action: fc.constantFrom(...ACTIONS),
    errnoRet: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4095 })),
    args: fc.array(argArb, { maxLength: 3 }),
  },
  { requiredKeys: ['names', 'action'] },
);

const profileArb: fc.Arbitrary<LinuxSeccomp> = fc.record(
  {
    defaultAction: fc.constantFrom(...ACTIONS),
    defaultErrnoRet: fc.integer({ min: 0, max: 2 }),
    architectures: fc.subarray(SCMP_ARCHES),
    syscalls: fc.array(ruleArb, { maxLength: 24 }),
  },
  { requiredKeys: ['defaultAction', 'syscalls'] },
);

/** Values that satisfy, or nearly satisfy, one condition. */
function nearValues(a: LinuxSeccompArg): bigint[] {
  const v = BigInt(a.value);
  const d = BigInt(a.valueTwo ?? 0);
  const out = [v, v - 1n, v + 1n, v ^ (1n << 32n), v & 0xffff_ffffn, v | (1n << 40n), v ^ 0xdead_0000_0000n];
  if (a.op === 'SCMP_CMP_MASKED_EQ') {
    const outside = ~v & U64;
    const low = v & -v; // lowest mask bit
    out.push(d, d | outside, d | (outside & 0xffff_ffff_0000_0000n), d ^ low, d | (outside & 0xffff_ffffn));
  }
  return out.map((x) => BigInt.asUintN(64, x));
}

/**
 * Inputs aimed at the profile: random ones, and ones that pick a rule, a name of it and an ABI,
 * then set the arguments of that rule's (and other rules') conditions to values at the edge of
 * holding.
 */
function inputsFor(spec: LinuxSeccomp): fc.Arbitrary<SeccompData[]> {
  const numbers: number[] = [];
  for (const abi of ALL_ABIS) {
    for (const n of NAMES) {
      const nr = syscallNumber(abi, n);
      if (nr !== undefined) numbers.push(nr, (nr ^ X32_SYSCALL_BIT) >>> 0, nr + 1);
    }
  }
  const audits = [...new Set(ALL_ABIS.map((a) => ARCHES[a].auditArch))];
  const random = fc.record({
    nr: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...numbers) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
    arch: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...audits) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
    args: fc.array(u64, { minLength: 6, maxLength: 6 }),
  });
  const rules = spec.syscalls ?? [];
  if (rules.length === 0) return fc.array(random, { minLength: 30, maxLength: 60 });
  const targeted = fc
    .record({
      r: fc.nat(),
      n: fc.nat(),
      abi: fc.constantFrom(...ALL_ABIS),
      picks: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
      base: fc.array(u64, { minLength: 6, maxLength: 6 }),
      mux: fc.boolean(),
    })
    .map(({ r, n, abi, picks, base, mux }): SeccompData => {
      const rule = rules[r % rules.length]!;
      const name = rule.names[n % rule.names.length]!;
      let nr = syscallNumber(abi, name) ?? syscallNumber(abi, 'getpid')!;
      const args = [...base];
      let p = 0;
      const pick = () => picks[p++ % picks.length]!;
      if (abi === 'x86' && mux) {
        const sc = { socket: [1n, 'socketcall'], connect: [3n, 'socketcall'], shmget: [23n, 'ipc'], semop: [1n, 'ipc'] } as Record<string, [bigint, string]>;
        const m = sc[name];
        if (m) {
          nr = syscallNumber('x86', m[1])!;
          args[0] = m[0] | (pick() % 2 === 0 ? 0n : 0x1_0000n);
        }
      }
      // Conditions of every rule naming this syscall: set some of them to edge values.
      for (const other of rules) {
        if (other !== rule && (!other.names.includes(name) || pick() % 2 === 0)) continue;
        for (const a of other.args ?? []) {
          if (pick() % 4 === 0) continue;
          const vals = nearValues(a);
          args[a.index] = vals[pick() % vals.length]!;
        }
      }
      return { nr, arch: ARCHES[abi].auditArch, args };
    });
  return fc.array(fc.oneof(random, { weight: 3, arbitrary: targeted }), { minLength: 30, maxLength: 60 });
}

describe('seccomp compiler: property', () => {
  it('agrees with direct evaluation of the rules on random profiles and inputs', () => {
    let checks = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...NATIVES),
        profileArb.chain((p) => fc.tuple(fc.constant(p), inputsFor(p))),
        (native, [spec, inputs]) => {
          const c = compileSeccomp(spec, { nativeArch: native });
          const insns = decodeProgram(c.program);
          checkProgram(insns);
          for (const d of inputs) {
            const got = runProgram(insns, d).ret;
            const want = referenceAction(spec, native, d);
            checks++;
            if (got !== want) {
              assert.fail(
                `native ${native}, nr ${d.nr}, arch 0x${d.arch.toString(16)}, args ${d.args?.map((a) => '0x' + a.toString(16))}: ` +
                  `bpf 0x${got.toString(16)} != reference 0x${want.toString(16)}\n${disassemble(insns)}`,
              );
            }
          }
        },
      ),
      { numRuns: 500 },
    );
    assert.ok(checks > 10000, `${checks} checks`);
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(profileArb, (spec) => {
        const a = compileSeccomp(spec, { nativeArch: 'x86_64' }).program;
        const b = compileSeccomp(structuredClone(spec), { nativeArch: 'x86_64' }).program;
        assert.ok(a.equals(b));
      }),
      { numRuns: 100 },
    );
  });
});
