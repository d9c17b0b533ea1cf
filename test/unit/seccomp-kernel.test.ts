// The real kernel loads our bytes and acts on them: a tiny C program (built with cc at test time)
// reads a .bpf file, sets no_new_privs, calls seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) and
// then makes the syscalls it is given, printing each result and errno.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveNativeArch, type SeccompArch } from '../../src/seccomp/arch.js';
import { decodeProgram } from '../../src/seccomp/bpf.js';
import { seccompFilterFlags, seccompProgramFile } from '../../src/seccomp/cache.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import { syscallNumber, syscallTable } from '../../src/seccomp/syscalls.js';
import type { LinuxSeccomp } from '../../src/spec/types.js';

const LOADER_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static struct sock_filter insns[4096];

int main(int argc, char **argv) {
  if (argc < 3) return 64;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror("open"); return 65; }
  ssize_t n = read(fd, insns, sizeof insns);
  close(fd);
  if (n <= 0 || n % 8) return 66;
  struct sock_fprog prog = { .len = (unsigned short)(n / 8), .filter = insns };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); return 67; }
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, strtoul(argv[2], NULL, 0), &prog);
  printf("load %ld %d\n", r, r < 0 ? errno : 0);
  if (r < 0) { fflush(stdout); return 0; }
  for (int i = 3; i < argc; i++) {
    unsigned long long a[7] = { 0 };
    char *p = argv[i];
    for (int j = 0; j < 7 && *p; j++) a[j] = strtoull(p, &p, 0);
    errno = 0;
    long ret = syscall((long)a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    printf("%ld %d\n", ret, ret < 0 ? errno : 0);
  }
  fflush(stdout);
  return 0;
}
`;

function syscallNames(arch: SeccompArch): string[] {
  return [...syscallTable(arch).keys()];
}

const native = (() => {
  try {
    return resolveNativeArch();
  } catch {
    return undefined;
  }
})();
const hasCc = spawnSync('cc', ['--version']).status === 0;
const skip = !hasCc ? 'no C compiler (cc)' : !native || process.platform !== 'linux' ? 'not a supported Linux host' : false;

describe('seccomp programs in the real kernel', { skip }, () => {
  let dir = '';
  let loader = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-kernel-'));
    writeFileSync(join(dir, 'loader.c'), LOADER_C);
    loader = join(dir, 'loader');
    execFileSync('cc', ['-O1', '-Wall', '-o', loader, join(dir, 'loader.c')], { stdio: 'pipe' });
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  /** Loads `spec`, makes the calls ([name, ...args]) and returns [load, ...results] as [ret, errno]. */
  function runCalls(spec: LinuxSeccomp, calls: [string, ...bigint[]][]): [number, number][] {
    const file = seccompProgramFile(spec, join(dir, 'cache'));
    const { flags } = seccompFilterFlags(spec);
    const argv = calls.map(([name, ...args]) => {
      const nr = syscallNumber(native!, name);
      assert.notEqual(nr, undefined, name);
      return [nr!, ...args].map((v) => `0x${v.toString(16)}`).join(' ');
    });
    const out = execFileSync(loader, [file, String(flags), ...argv], { encoding: 'utf8' });
    return out.trim().split('\n').map((l) => {
      const [, ret, err] = l.match(/^(?:load )?(-?\d+) (\d+)$/)!;
      return [Number(ret), Number(err)];
    });
  }

  it('compares 64-bit arguments word by word, as the kernel sees them', () => {
    const spec: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 33, args: [{ index: 0, value: 0x1_0000_0005, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 34, args: [{ index: 1, value: 0xff_0000_0000, valueTwo: 0x12_0000_0000, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 35, args: [{ index: 5, value: 0x7fff_ffff_ffff, op: 'SCMP_CMP_GT' }] },
      ],
    };
    const [load, ...r] = runCalls(spec, [
      ['getppid', 5n],
      ['getppid', 0x1_0000_0005n],
      ['getppid', 0x2_0000_0005n],
      ['getppid', 0n, 0xab12_1234_0000n],
      ['getppid', 0n, 0x13_0000_0000n],
      ['getppid', 0n, 0n, 0n, 0n, 0n, 0x8000_0000_0000n],
      ['getppid', 0n, 0n, 0n, 0n, 0n, 0x7fff_ffff_ffffn],
    ]);
    assert.deepEqual(load, [0, 0]);
    assert.ok(r[0]![0] > 0, 'getppid(5) allowed');
    assert.deepEqual(r[1], [-1, 33]);
    assert.ok(r[2]![0] > 0);
    assert.deepEqual(r[3], [-1, 34]);
    assert.ok(r[4]![0] > 0);
    assert.deepEqual(r[5], [-1, 35]);
    assert.ok(r[6]![0] > 0);
  });

  it('enforces the default profile', () => {
    const spec = defaultSeccompProfile(['CAP_CHOWN']);
    assert.deepEqual(compileSeccomp(spec).skipped.includes('read'), false);
    const [load, ...r] = runCalls(spec, [
      ['getpid'],
      ['unshare', 0x10000000n], // CLONE_NEWUSER
      ['clone3', 0n, 0n],
      ['mount', 0n, 0n, 0n, 0n, 0n],
      ['personality', 0xffffffffn],
      ['personality', 0x0040000n], // ADDR_NO_RANDOMIZE
      ['socket', 40n, 1n, 0n], // AF_VSOCK
      ['socket', 1n, 1n, 0n], // AF_UNIX
      ['keyctl', 0n],
    ]);
    assert.deepEqual(load, [0, 0]);
    assert.ok(r[0]![0] > 0, 'getpid');
    assert.deepEqual(r[1], [-1, 1], 'unshare(CLONE_NEWUSER): EPERM');
    assert.deepEqual(r[2], [-1, 38], 'clone3: ENOSYS');
    assert.deepEqual(r[3], [-1, 1], 'mount: EPERM');
    assert.ok(r[4]![0] >= 0, 'personality query');
    assert.deepEqual(r[5], [-1, 1], 'personality(ADDR_NO_RANDOMIZE): EPERM');
    assert.deepEqual(r[6], [-1, 1], 'socket(AF_VSOCK): EPERM');
    assert.ok(r[7]![0] >= 0, 'socket(AF_UNIX)');
    assert.deepEqual(r[8], [-1, 1], 'keyctl: EPERM');
  });

  it('loads a large program with long jumps', () => {
    // An argument rule on each of the first 300 syscalls: later blocks sit far from the tree.
    const names = [...syscallNames(native!)].slice(0, 300);
    const syscalls = names.map((n, i) => ({
      names: [n],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 100 + (i % 50),
      args: [{ index: i % 6, value: (i + 1) * 0x1_0000_0001, op: 'SCMP_CMP_EQ' }],
    }));
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls };
    const { program } = compileSeccomp(spec);
    assert.ok(program.length / 8 > 1500, `${program.length / 8} instructions`);
    assert.ok(decodeProgram(program).some((insn) => insn.code === 0x05), 'uses BPF_JA');
    const i = names.indexOf('getppid');
    assert.ok(i >= 0);
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    args[i % 6] = BigInt(i + 1) * 0x1_0000_0001n;
    const other = [...args];
    other[i % 6]! += 1n;
    const [load, hit, miss] = runCalls(spec, [['getppid', ...args], ['getppid', ...other]]);
    assert.deepEqual(load, [0, 0]);
    assert.deepEqual(hit, [-1, 100 + (i % 50)]);
    assert.ok(miss![0] > 0);
  });

  it('returns a listener fd for SCMP_ACT_NOTIFY, also with TSYNC', () => {
    for (const flags of [[], ['SECCOMP_FILTER_FLAG_TSYNC']]) {
      const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags, syscalls: [{ names: ['mknodat'], action: 'SCMP_ACT_NOTIFY' }] };
      const [load, ...r] = runCalls(spec, [['getpid']]);
      assert.ok(load![0] > 2, `listener fd, got ${load}`);
      assert.ok(r[0]![0] > 0);
    }
  });
});
