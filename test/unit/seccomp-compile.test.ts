import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ARCHES, X32_SYSCALL_BIT } from '../../src/seccomp/arch.js';
import { BPF_MAXINSNS, decodeProgram, disassemble } from '../../src/seccomp/bpf.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { SeccompError } from '../../src/seccomp/profile.js';
import { syscallNumber, syscallTable } from '../../src/seccomp/syscalls.js';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/spec/types.js';
import { checkProgram, runProgram } from './seccomp-bpf-interp.js';
import { referenceAction } from './seccomp-reference.js';

const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const KILL_THREAD = 0;
const errno = (e: number) => (0x00050000 | e) >>> 0;
const X86_64 = ARCHES.x86_64.auditArch;
const X86 = ARCHES.x86.auditArch;
const AARCH64 = ARCHES.aarch64.auditArch;
const ARM = ARCHES.arm.auditArch;

function nr(arch: 'x86_64' | 'x86' | 'x32' | 'aarch64' | 'arm' | 'riscv64', name: string): number {
  const n = syscallNumber(arch, name);
  assert.notEqual(n, undefined, `${arch} has ${name}`);
  return n!;
}

/** Compiles, checks the program as the kernel would, and returns a runner. */
function filter(spec: LinuxSeccomp, nativeArch = 'x86_64') {
  const c = compileSeccomp(spec, { nativeArch });
  const insns = decodeProgram(c.program);
  checkProgram(insns);
  const run = (n: number, args: bigint[] = [], arch = ARCHES[nativeArch === 'x86_64' ? 'x86_64' : 'aarch64'].auditArch) => {
    const d = { nr: n, arch, args };
    const got = runProgram(insns, d).ret;
    assert.equal(got, referenceAction(spec, nativeArch, d), `reference agrees for nr ${n} args ${args}`);
    return got;
  };
  return { ...c, insns, run };
}

const rule = (names: string[], action: string, extra: Partial<LinuxSyscall> = {}): LinuxSyscall => ({ names, action, ...extra });

describe('seccomp compiler: encoding', () => {
  it('encodes a minimal program byte for byte', () => {
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, { nativeArch: 'x86_64' });
    // ld [4]; jeq #AUDIT_ARCH_X86_64 jt 1 jf 0; ret KILL_PROCESS; ld [0]; jge #0x40000000 jt 1 jf 0;
    // ret ALLOW; ret KILL_PROCESS
    const expected = Buffer.from(
      [
        '2000000004000000', '15000100' + '3e0000c0', '0600000000000080', '2000000000000000',
        '35000100' + '00000040', '060000000000ff7f', '0600000000000080',
      ].join(''),
      'hex',
    );
    assert.equal(c.program.toString('hex'), expected.toString('hex'), disassemble(decodeProgram(c.program)));
    assert.equal(c.flags, 0);
    assert.equal(c.notify, false);
    assert.deepEqual(c.skipped, []);
  });

  it('maps every action to its SECCOMP_RET value', () => {
    const cases: [string, number | undefined, number][] = [
      ['SCMP_ACT_KILL', undefined, KILL_THREAD],
      ['SCMP_ACT_KILL_THREAD', undefined, KILL_THREAD],
      ['SCMP_ACT_KILL_PROCESS', undefined, KILL_PROCESS],
      ['SCMP_ACT_TRAP', undefined, 0x00030000],
      ['SCMP_ACT_ERRNO', undefined, errno(1)],
      ['SCMP_ACT_ERRNO', 38, errno(38)],
      ['SCMP_ACT_ERRNO', 0, errno(0)],
      ['SCMP_ACT_TRACE', undefined, 0x7ff00001],
      ['SCMP_ACT_TRACE', 7, 0x7ff00007],
      ['SCMP_ACT_ALLOW', undefined, ALLOW],
      ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
      ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
    ];
    for (const [action, errnoRet, ret] of cases) {
      const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule(['getpid'], action, errnoRet === undefined ? {} : { errnoRet })] });
      assert.equal(f.run(nr('x86_64', 'getpid')), ret, action);
      assert.equal(f.run(nr('x86_64', 'getppid')), ALLOW);
      const d = filter({ defaultAction: action, defaultErrnoRet: errnoRet });
      assert.equal(d.run(nr('x86_64', 'getppid')), ret, `default ${action}`);
    }
  });
});

describe('seccomp compiler: validation', () => {
  const bad = (spec: unknown, message: string) =>
    assert.throws(() => compileSeccomp(spec as LinuxSeccomp, { nativeArch: 'x86_64' }), (e: unknown) => {
      assert.ok(e instanceof SeccompError, String(e));
      assert.equal(e.message, message);
      return true;
    });

  it('names the field of an unknown action, architecture, operator or flag', () => {
    const four = [rule(['read'], 'SCMP_ACT_ALLOW'), rule(['write'], 'SCMP_ACT_ALLOW'), rule(['open'], 'SCMP_ACT_ALLOW')];
    bad({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [...four, rule(['close'], 'SCMP_ACT_FOO')] }, 'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"');
    bad({ defaultAction: 'ALLOW' }, 'linux.seccomp.defaultAction: unknown action "ALLOW"');
    bad({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_VAX'] }, 'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"');
    bad(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule(['read'], 'SCMP_ACT_ERRNO', { args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_LIKE' }] })] },
      'linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_LIKE"',
    );
    bad({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST'] }, 'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST"');
    bad(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule(['read'], 'SCMP_ACT_ERRNO', { args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] })] },
      'linux.seccomp.syscalls[0].args[0].index: expected an argument index 0..5, got 6',
    );
    bad(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule(['read'], 'SCMP_ACT_ERRNO', { args: [{ index: 0, value: 1.5, op: 'SCMP_CMP_EQ' }] })] },
      'linux.seccomp.syscalls[0].args[0].value: 1.5 is not an unsigned 64-bit integer',
    );
    bad({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 70000 }, 'linux.seccomp.defaultErrnoRet: expected an errno between 0 and 65535, got 70000');
    bad(
      { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] },
      'linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY action in the profile',
    );
  });

  it('skips unknown syscall names and reports them once', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [rule(['getpid', 'no_such_call', 'breakpoint'], 'SCMP_ACT_ALLOW'), rule(['no_such_call'], 'SCMP_ACT_KILL')],
    });
    assert.deepEqual(f.skipped, ['no_such_call', 'breakpoint']);
    assert.equal(f.run(nr('x86_64', 'getpid')), ALLOW);
  });

  it('accepts libseccomp architectures this host cannot run, and ignores them', () => {
    const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_S390X', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_AARCH64'] });
    assert.equal(f.run(0), ALLOW);
    assert.equal(f.run(0, [], AARCH64), KILL_PROCESS);
  });
});

describe('seccomp compiler: flags', () => {
  it('maps OCI flags and adds NEW_LISTENER for SCMP_ACT_NOTIFY', () => {
    const flags = (spec: Partial<LinuxSeccomp>) => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', ...spec }, { nativeArch: 'x86_64' });
    assert.equal(flags({ flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).flags, 1);
    assert.equal(flags({ flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }).flags, 2 | 4);
    const n = flags({ syscalls: [rule(['mkdir'], 'SCMP_ACT_NOTIFY')] });
    assert.equal(n.flags, 8);
    assert.equal(n.notify, true);
    // The kernel wants TSYNC_ESRCH when TSYNC and NEW_LISTENER go together.
    assert.equal(flags({ flags: ['SECCOMP_FILTER_FLAG_TSYNC'], syscalls: [rule(['mkdir'], 'SCMP_ACT_NOTIFY')] }).flags, 1 | 8 | 16);
    assert.equal(flags({ flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], syscalls: [rule(['mkdir'], 'SCMP_ACT_NOTIFY')] }).flags, 8 | 32);
    assert.equal(compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' }, { nativeArch: 'x86_64' }).flags, 8);
  });
});

describe('seccomp compiler: arguments', () => {
  const getppid = nr('x86_64', 'getppid');
  const one = (op: string, value: number | bigint, valueTwo?: number | bigint) =>
    filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 9, args: [{ index: 2, op, value: value as number, valueTwo: valueTwo as number }] })],
    });
  const hit = errno(9);

  it('compares 64-bit values as two 32-bit words, high word first', () => {
    const v = 0x1_0000_0002n;
    const eq = one('SCMP_CMP_EQ', v);
    assert.equal(eq.run(getppid, [0n, 0n, v]), hit);
    assert.equal(eq.run(getppid, [0n, 0n, 2n]), ALLOW, 'same low word, different high word');
    assert.equal(eq.run(getppid, [0n, 0n, 0x2_0000_0002n]), ALLOW);
    assert.equal(eq.run(getppid, [0n, 0n, 0x1_0000_0003n]), ALLOW);
    assert.equal(eq.run(getppid, [v, v, 0n]), ALLOW, 'other argument');

    const gt = one('SCMP_CMP_GT', v);
    assert.equal(gt.run(getppid, [0n, 0n, v]), ALLOW);
    assert.equal(gt.run(getppid, [0n, 0n, v + 1n]), hit);
    assert.equal(gt.run(getppid, [0n, 0n, 0x2_0000_0000n]), hit, 'higher high word, lower low word');
    assert.equal(gt.run(getppid, [0n, 0n, 0xffff_ffffn]), ALLOW, 'lower high word, higher low word');
    const ge = one('SCMP_CMP_GE', v);
    assert.equal(ge.run(getppid, [0n, 0n, v]), hit);
    assert.equal(ge.run(getppid, [0n, 0n, v - 1n]), ALLOW);
    const lt = one('SCMP_CMP_LT', v);
    assert.equal(lt.run(getppid, [0n, 0n, v - 1n]), hit);
    assert.equal(lt.run(getppid, [0n, 0n, 0xffff_ffffn]), hit);
    assert.equal(lt.run(getppid, [0n, 0n, v]), ALLOW);
    assert.equal(lt.run(getppid, [0n, 0n, 0x2_0000_0000n]), ALLOW);
    const le = one('SCMP_CMP_LE', v);
    assert.equal(le.run(getppid, [0n, 0n, v]), hit);
    assert.equal(le.run(getppid, [0n, 0n, v + 1n]), ALLOW);
    const ne = one('SCMP_CMP_NE', v);
    assert.equal(ne.run(getppid, [0n, 0n, v]), ALLOW);
    assert.equal(ne.run(getppid, [0n, 0n, 2n]), hit);
    assert.equal(ne.run(getppid, [0n, 0n, 0x1_0000_0000n]), hit);

    const max = (1n << 64n) - 1n;
    assert.equal(one('SCMP_CMP_EQ', max).run(getppid, [0n, 0n, max]), hit);
    assert.equal(one('SCMP_CMP_GT', 0xffff_ffffn).run(getppid, [0n, 0n, 0x1_0000_0000n]), hit);
    assert.equal(one('SCMP_CMP_LT', 0x1_0000_0000n).run(getppid, [0n, 0n, 0xffff_ffffn]), hit);
    assert.equal(one('SCMP_CMP_GE', 0n).run(getppid, [0n, 0n, 0n]), hit, 'always true');
    assert.equal(one('SCMP_CMP_LT', 0n).run(getppid, [0n, 0n, 0n]), ALLOW, 'never true');
    // A JSON value near 2^64 arrives as a double of 2^64: it means the maximum.
    assert.equal(one('SCMP_CMP_EQ', 18446744073709551615).run(getppid, [0n, 0n, max]), hit);
  });

  it('MASKED_EQ tests (arg & value) == valueTwo on both words', () => {
    const m = one('SCMP_CMP_MASKED_EQ', 0xf0_0000_00f0n, 0x10_0000_0020n);
    assert.equal(m.run(getppid, [0n, 0n, 0x10_0000_0020n]), hit);
    assert.equal(m.run(getppid, [0n, 0n, 0x1f_ffff_ff2fn]), hit);
    assert.equal(m.run(getppid, [0n, 0n, 0x20_0000_0020n]), ALLOW);
    assert.equal(m.run(getppid, [0n, 0n, 0x10_0000_0030n]), ALLOW);
    const none = one('SCMP_CMP_MASKED_EQ', 0x7e02_0000, 0);
    assert.equal(none.run(getppid, [0n, 0n, 0x0001_1111n]), hit);
    assert.equal(none.run(getppid, [0n, 0n, 0x1000_0000n]), ALLOW);
    const bit = one('SCMP_CMP_MASKED_EQ', 0x8, 0x8);
    assert.equal(bit.run(getppid, [0n, 0n, 0xffn]), hit);
    assert.equal(bit.run(getppid, [0n, 0n, 0xf7n]), ALLOW);
    assert.equal(one('SCMP_CMP_MASKED_EQ', 0xf0, 0x01).run(getppid, [0n, 0n, 0x01n]), ALLOW, 'valueTwo outside mask never matches');
  });

  it('ANDs the conditions of one rule and tries rules in order', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 1, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 2, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 3, args: [{ index: 0, value: 0, op: 'SCMP_CMP_GE' }, { index: 5, value: 7, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 4 }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 5, args: [{ index: 0, value: 9, op: 'SCMP_CMP_EQ' }] }),
      ],
    });
    assert.equal(f.run(getppid, [1n, 2n]), errno(1));
    assert.equal(f.run(getppid, [1n, 3n]), errno(2));
    assert.equal(f.run(getppid, [2n, 2n, 0n, 0n, 0n, 7n]), errno(3));
    assert.equal(f.run(getppid, [9n]), errno(4), 'unconditional rule hides later ones');
    assert.equal(f.run(nr('x86_64', 'getpid')), ALLOW);
  });

  it('reloads an argument word after a test that may have left the other word in A', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        rule(['getppid'], 'SCMP_ACT_ERRNO', {
          errnoRet: 1,
          args: [{ index: 0, value: 5, op: 'SCMP_CMP_GT' }, { index: 0, value: 0xff, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }],
        }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', {
          errnoRet: 2,
          args: [{ index: 1, value: 5, op: 'SCMP_CMP_NE' }, { index: 1, value: 0xff, valueTwo: 4, op: 'SCMP_CMP_MASKED_EQ' }],
        }),
      ],
    });
    assert.equal(f.run(getppid, [0x1_0000_0003n]), errno(1), 'GT decided by the high word');
    assert.equal(f.run(getppid, [0x1_0000_0004n]), ALLOW);
    assert.equal(f.run(getppid, [0x4n]), ALLOW);
    assert.equal(f.run(getppid, [0n, 0x1_0000_0004n]), errno(2), 'NE decided by the high word');
  });

  it('drops only trailing rules that cannot change the outcome', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        rule(['getppid'], 'SCMP_ACT_ALLOW', { args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { args: [{ index: 1, value: 1, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ALLOW', { args: [{ index: 2, value: 1, op: 'SCMP_CMP_EQ' }] }),
      ],
    });
    assert.equal(f.run(getppid, [1n, 1n]), ALLOW);
    assert.equal(f.run(getppid, [0n, 1n]), errno(1));
    assert.equal(f.run(getppid, [0n, 0n, 1n]), ALLOW);
  });

  it('compares only the low word on 32-bit ABIs', () => {
    const spec: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86'],
      syscalls: [
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 1, args: [{ index: 0, value: 5, op: 'SCMP_CMP_EQ' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 2, args: [{ index: 0, value: 0x1_0000_0000, op: 'SCMP_CMP_GE' }] }),
        rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 3, args: [{ index: 1, value: 0x1_0000_0000, op: 'SCMP_CMP_LT' }] }),
      ],
    };
    const f = filter(spec);
    const x86 = nr('x86', 'getppid');
    assert.equal(f.run(x86, [5n], X86), errno(1));
    assert.equal(f.run(x86, [0xdead_0000_0005n], X86), errno(1), 'high garbage is ignored');
    assert.equal(f.run(x86, [0xffff_ffffn, 0n], X86), errno(3), 'a 32-bit argument is never >= 2^32');
    assert.equal(f.run(nr('x86_64', 'getppid'), [0x1_0000_0000n, 0n]), errno(2), 'x86_64 compares all 64 bits');
  });
});

describe('seccomp compiler: architectures', () => {
  const spec: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [rule(['getpid', 'socket', 'shmget'], 'SCMP_ACT_ALLOW')],
  };

  it('dispatches on seccomp_data.arch with each ABI\'s numbers', () => {
    const f = filter(spec);
    assert.equal(f.run(nr('x86_64', 'getpid')), ALLOW);
    assert.equal(f.run(nr('x86', 'getpid'), [], X86), ALLOW);
    assert.equal(f.run(nr('x86_64', 'getpid'), [], X86), errno(1), 'x86_64 number under the x86 ABI');
    assert.equal(f.run(nr('x86_64', 'getpid'), [], AARCH64), KILL_PROCESS, 'unlisted ABI');
    assert.equal(f.run(nr('x86_64', 'getpid'), [], 0x12345678), KILL_PROCESS);
  });

  it('always admits the native ABI', () => {
    const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'] });
    assert.equal(f.run(1), ALLOW);
    assert.equal(f.run(1, [], X86), ALLOW);
    assert.equal(f.run(1 | X32_SYSCALL_BIT), KILL_PROCESS);
  });

  it('treats x32 numbers under AUDIT_ARCH_X86_64 as their own ABI', () => {
    const f = filter(spec);
    assert.equal(f.run(nr('x32', 'getpid')), KILL_PROCESS, 'x32 not listed');
    assert.equal(f.run(0xffffffff), KILL_PROCESS);
    const g = filter({ ...spec, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] });
    assert.equal(g.run(nr('x32', 'getpid')), ALLOW);
    assert.equal(nr('x32', 'getpid'), (X32_SYSCALL_BIT | nr('x86_64', 'getpid')) >>> 0);
    assert.equal(g.run(nr('x32', 'getppid')), errno(1));
    // rt_sigaction is 512 on x32, not the x86_64 number with the x32 bit.
    const h = filter({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X32'], syscalls: [rule(['rt_sigaction'], 'SCMP_ACT_ALLOW')] });
    assert.equal(h.run((X32_SYSCALL_BIT | 512) >>> 0), ALLOW);
    assert.equal(h.run((X32_SYSCALL_BIT | 13) >>> 0), errno(1));
    assert.equal(h.run(13), ALLOW, 'native x86_64 rt_sigaction');
    const x32host = filter({ defaultAction: 'SCMP_ACT_ALLOW' }, 'x32');
    assert.equal(x32host.run(nr('x32', 'getpid'), [], X86_64), ALLOW);
    assert.equal(x32host.run(nr('x86_64', 'getpid'), [], X86_64), KILL_PROCESS, 'x86_64 half not admitted');
  });

  it('covers socketcall(2) and ipc(2) on 32-bit x86 for argument-free rules', () => {
    const f = filter(spec);
    const socketcall = nr('x86', 'socketcall');
    const ipc = nr('x86', 'ipc');
    assert.equal(f.run(socketcall, [1n], X86), ALLOW, 'SYS_SOCKET');
    assert.equal(f.run(socketcall, [3n], X86), errno(1), 'SYS_CONNECT');
    assert.equal(f.run(ipc, [23n], X86), ALLOW, 'SHMGET');
    assert.equal(f.run(ipc, [0x1_0017n], X86), ALLOW, 'SHMGET, version 1');
    assert.equal(f.run(ipc, [21n], X86), errno(1), 'SHMAT');
    assert.equal(f.run(nr('x86', 'socket'), [], X86), ALLOW, 'direct socket(2)');
  });

  it('compiles for aarch64 hosts with arm compat', () => {
    const f = filter({ ...spec, architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'], syscalls: [rule(['getpid', 'breakpoint'], 'SCMP_ACT_ALLOW')] }, 'aarch64');
    assert.equal(f.run(nr('aarch64', 'getpid'), [], AARCH64), ALLOW);
    assert.equal(f.run(nr('arm', 'getpid'), [], ARM), ALLOW);
    assert.equal(f.run(nr('arm', 'breakpoint'), [], ARM), ALLOW);
    assert.equal(f.run(nr('aarch64', 'getppid'), [], AARCH64), errno(1));
    assert.equal(f.run(nr('aarch64', 'getpid'), [], X86_64), KILL_PROCESS);
  });
});

describe('seccomp compiler: size', () => {
  it('uses long jumps when targets are more than 255 instructions away', () => {
    // 300 syscalls with argument rules: the search tree's jumps to late blocks are far.
    const names = [...syscallTable('x86_64').keys()].slice(0, 300);
    const syscalls = names.map((n, i) =>
      rule([n], 'SCMP_ACT_ERRNO', { errnoRet: (i % 100) + 1, args: [{ index: i % 6, value: i * 0x1_0000_0001, op: 'SCMP_CMP_EQ' }] }),
    );
    const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });
    assert.ok(f.insns.length > 1000 && f.insns.length <= BPF_MAXINSNS, `${f.insns.length} instructions`);
    assert.ok(f.insns.some((i) => i.code === 0x05), 'has BPF_JA');
    names.forEach((n, i) => {
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      args[i % 6] = BigInt(i) * 0x1_0000_0001n;
      assert.equal(f.run(nr('x86_64', n), args), errno((i % 100) + 1), n);
      args[i % 6]! += 1n;
      assert.equal(f.run(nr('x86_64', n), args), ALLOW, n);
    });
  });

  it('refuses programs the kernel would refuse', () => {
    const syscalls = Array.from({ length: 900 }, (_, i) =>
      rule(['getppid'], 'SCMP_ACT_ERRNO', { errnoRet: 1 + (i % 2), args: [{ index: 0, value: i * 0x1_0000_0001, op: 'SCMP_CMP_EQ' }] }),
    );
    assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls }, { nativeArch: 'x86_64' }), /the kernel accepts at most 4096/);
  });
});
