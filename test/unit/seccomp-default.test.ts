import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ARCHES, type SeccompArch } from '../../src/seccomp/arch.js';
import { decodeProgram } from '../../src/seccomp/bpf.js';
import { canonicalJson, seccompCacheKey, seccompFilterFlags, seccompProgramFile } from '../../src/seccomp/cache.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import { syscallNumber, syscallTable } from '../../src/seccomp/syscalls.js';
import type { LinuxSeccomp } from '../../src/spec/types.js';
import { checkProgram, runProgram } from './seccomp-bpf-interp.js';
import { referenceAction } from './seccomp-reference.js';

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const KILL_PROCESS = 0x80000000;
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNET = 0x40000000n;
const CLONE_THREAD_FLAGS = 0x3d0f00n; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID

function profileRunner(caps: string[], native: SeccompArch) {
  const spec = defaultSeccompProfile(caps, { nativeArch: native });
  const c = compileSeccomp(spec, { nativeArch: native });
  const insns = decodeProgram(c.program);
  checkProgram(insns);
  let maxSteps = 0;
  const run = (abi: SeccompArch, name: string, args: bigint[] = []) => {
    const nr = syscallNumber(abi, name);
    assert.notEqual(nr, undefined, `${abi} ${name}`);
    const d = { nr: nr!, arch: ARCHES[abi].auditArch, args };
    const r = runProgram(insns, d);
    maxSteps = Math.max(maxSteps, r.steps);
    assert.equal(r.ret, referenceAction(spec, native, d), `${abi} ${name}`);
    return r.ret;
  };
  return { spec, c, insns, run, steps: () => maxSteps };
}

describe('default seccomp profile', () => {
  it('allows ordinary calls and refuses dangerous ones on x86_64', () => {
    const p = profileRunner([], 'x86_64');
    for (const n of ['read', 'write', 'openat', 'mmap', 'futex', 'epoll_wait', 'execve', 'exit_group', 'rt_sigreturn', 'arch_prctl', 'statx']) {
      assert.equal(p.run('x86_64', n), ALLOW, n);
    }
    for (const n of ['mount', 'umount2', 'pivot_root', 'setns', 'init_module', 'kexec_load', 'reboot', 'bpf', 'keyctl', 'add_key', 'open_by_handle_at', 'io_uring_setup']) {
      assert.equal(p.run('x86_64', n), EPERM, n);
    }
    assert.equal(p.run('x86_64', 'ptrace'), ALLOW);
    assert.equal(p.run('x86', 'socketcall', [1n, 0n]), ALLOW, 'x86 socketcall');
    assert.equal(p.run('x86', 'mmap2'), ALLOW);
    assert.equal(p.run('x32', 'read'), ALLOW);
    assert.equal(p.run('x32', 'mount'), EPERM);
    assert.equal(p.c.flags, 0);
    assert.deepEqual(p.c.skipped, ['_llseek', '_newselect', 'sync_file_range2']);
  });

  it('keeps clone from creating namespaces without CAP_SYS_ADMIN', () => {
    const p = profileRunner(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'], 'x86_64');
    assert.equal(p.run('x86_64', 'clone', [CLONE_THREAD_FLAGS]), ALLOW, 'threads');
    assert.equal(p.run('x86_64', 'clone', [0x11n]), ALLOW, 'fork: SIGCHLD');
    assert.equal(p.run('x86_64', 'clone', [CLONE_NEWUSER | 0x11n]), EPERM);
    assert.equal(p.run('x86_64', 'clone', [CLONE_NEWNET]), EPERM);
    assert.equal(p.run('x86', 'clone', [CLONE_NEWUSER]), EPERM);
    assert.equal(p.run('x86_64', 'clone3'), ENOSYS, 'clone3 makes libc fall back to clone');
    assert.equal(p.run('x86_64', 'unshare', [0x400n]), ALLOW, 'CLONE_FILES');
    assert.equal(p.run('x86_64', 'unshare', [CLONE_NEWUSER]), EPERM);
    assert.equal(p.run('x86_64', 'unshare', [0x80n]), EPERM, 'CLONE_NEWTIME');

    const admin = profileRunner(['CAP_SYS_ADMIN'], 'x86_64');
    assert.equal(admin.run('x86_64', 'clone', [CLONE_NEWUSER]), ALLOW);
    assert.equal(admin.run('x86_64', 'clone3'), ALLOW);
    assert.equal(admin.run('x86_64', 'unshare', [CLONE_NEWNET]), ALLOW);
    assert.equal(admin.run('x86_64', 'mount'), ALLOW);
    assert.equal(admin.run('x86_64', 'bpf'), ALLOW);
    assert.equal(admin.run('x86_64', 'reboot'), EPERM);
  });

  it('adds calls per capability', () => {
    const caps: [string, string][] = [
      ['SYS_TIME', 'clock_settime'], ['CAP_SYS_BOOT', 'reboot'], ['CAP_SYS_CHROOT', 'chroot'],
      ['CAP_SYS_MODULE', 'finit_module'], ['CAP_SYS_PTRACE', 'kcmp'], ['CAP_SYS_RAWIO', 'iopl'],
      ['CAP_SYS_PACCT', 'acct'], ['CAP_BPF', 'bpf'], ['CAP_PERFMON', 'perf_event_open'],
      ['CAP_SYSLOG', 'syslog'], ['CAP_SYS_NICE', 'mbind'], ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
      ['CAP_SYS_TTY_CONFIG', 'vhangup'],
    ];
    for (const [cap, name] of caps) {
      assert.equal(profileRunner([], 'x86_64').run('x86_64', name), EPERM, `${name} without ${cap}`);
      assert.equal(profileRunner([cap], 'x86_64').run('x86_64', name), ALLOW, `${name} with ${cap}`);
    }
  });

  it('limits personality and AF_VSOCK sockets', () => {
    const p = profileRunner([], 'x86_64');
    for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.equal(p.run('x86_64', 'personality', [v]), ALLOW, `0x${v.toString(16)}`);
    for (const v of [0x0040000n, 0x0400000n, 1n, 0x1_0000_0000n]) assert.equal(p.run('x86_64', 'personality', [v]), EPERM, `0x${v.toString(16)}`);
    assert.equal(p.run('x86', 'personality', [0x1_0000_0008n]), ALLOW, '32-bit ABI sees the low word');
    assert.equal(p.run('x86_64', 'socket', [2n]), ALLOW);
    assert.equal(p.run('x86_64', 'socket', [40n]), EPERM);
    assert.equal(p.run('x86_64', 'socket', [0x1_0000_0028n]), ALLOW, 'a 64-bit domain is not AF_VSOCK');
  });

  it('serves aarch64 (with arm) and riscv64 hosts', () => {
    const a = profileRunner([], 'aarch64');
    assert.equal(a.run('aarch64', 'openat'), ALLOW);
    assert.equal(a.run('aarch64', 'mount'), EPERM);
    assert.equal(a.run('arm', 'set_tls'), ALLOW);
    assert.equal(a.run('arm', 'clone', [CLONE_NEWUSER]), EPERM);
    const r = profileRunner([], 'riscv64');
    assert.equal(r.run('riscv64', 'riscv_flush_icache'), ALLOW);
    assert.equal(r.run('riscv64', 'mount'), EPERM);
    assert.equal(runProgram(r.insns, { nr: 0, arch: ARCHES.x86_64.auditArch }).ret, KILL_PROCESS);
  });

  it('compiles to a small, shallow program', (t) => {
    const counts: string[] = [];
    for (const native of ['x86_64', 'aarch64', 'riscv64'] as SeccompArch[]) {
      for (const caps of [[], ['CAP_SYS_ADMIN']]) {
        const p = profileRunner(caps, native);
        const abis = native === 'x86_64' ? (['x86_64', 'x86', 'x32'] as const) : native === 'aarch64' ? (['aarch64', 'arm'] as const) : (['riscv64'] as const);
        for (const abi of abis) for (const [name] of syscallTableEntries(abi)) p.run(abi, name, [0x11n, 0n]);
        counts.push(`${native}${caps.length ? '+SYS_ADMIN' : ''}: ${p.insns.length} insns, <= ${p.steps()} steps`);
        assert.ok(p.insns.length < 600, counts.at(-1));
        // personality's five argument rules are the longest path; plain calls take ~15 steps
        assert.ok(p.steps() <= 32, counts.at(-1));
        const plain = runProgram(p.insns, { nr: syscallNumber(native, 'read')!, arch: ARCHES[native].auditArch }).steps;
        assert.ok(plain <= 16, `read takes ${plain} steps`);
      }
    }
    t.diagnostic(`default profile: ${counts.join('; ')}`);
  });
});

function syscallTableEntries(abi: SeccompArch): [string, number][] {
  return [...syscallTable(abi)];
}

describe('seccomp program cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <sha256>.bpf once and reuses it', () => {
    const spec = defaultSeccompProfile([], { nativeArch: 'x86_64' });
    const cacheDir = join(dir, 'nested', 'cache');
    const path = seccompProgramFile(spec, cacheDir, { nativeArch: 'x86_64' });
    assert.match(path, /[0-9a-f]{64}\.bpf$/);
    assert.ok(readFileSync(path).equals(compileSeccomp(spec, { nativeArch: 'x86_64' }).program));
    const st = statSync(path);
    const again = seccompProgramFile(structuredClone(spec), cacheDir, { nativeArch: 'x86_64' });
    assert.equal(again, path);
    assert.equal(statSync(path).mtimeMs, st.mtimeMs, 'not rewritten');
    assert.equal(statSync(path).ino, st.ino);
    assert.deepEqual(readdirSync(cacheDir), [path.split('/').at(-1)], 'no temp files left');
  });

  it('keys by canonical JSON, host architecture and content', () => {
    const a: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
    const b = { syscalls: [{ action: 'SCMP_ACT_ALLOW', names: ['read'], args: undefined }], defaultAction: 'SCMP_ACT_ERRNO' } as LinuxSeccomp;
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(seccompCacheKey(a, { nativeArch: 'x86_64' }), seccompCacheKey(b, { nativeArch: 'x86_64' }));
    assert.notEqual(seccompCacheKey(a, { nativeArch: 'x86_64' }), seccompCacheKey(a, { nativeArch: 'aarch64' }));
    assert.notEqual(seccompCacheKey(a, { nativeArch: 'x86_64' }), seccompCacheKey({ ...a, defaultAction: 'SCMP_ACT_KILL' }, { nativeArch: 'x86_64' }));
  });

  it('validates before writing anything', () => {
    const cacheDir = join(dir, 'bad');
    assert.throws(() => seccompProgramFile({ defaultAction: 'NOPE' }, cacheDir), /linux.seccomp.defaultAction: unknown action "NOPE"/);
    assert.deepEqual(seccompFilterFlags({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }), { flags: 2, notify: false });
  });
});
