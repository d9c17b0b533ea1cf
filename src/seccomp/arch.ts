// Architectures a seccomp filter can name, their AUDIT_ARCH values (seccomp_data.arch), and which
// of them a process can actually run on a given host.
/** Architectures berth has syscall tables for. */
export type SeccompArch = 'x86_64' | 'x86' | 'x32' | 'aarch64' | 'arm' | 'riscv64';

const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;

/** x32 system calls are x86_64 calls (AUDIT_ARCH_X86_64) with this bit set in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

export interface ArchInfo {
  readonly arch: SeccompArch;
  /** The OCI / libseccomp name. */
  readonly scmpName: string;
  /** seccomp_data.arch for this ABI. */
  readonly auditArch: number;
  /** Width of a syscall argument: 32-bit ABIs compare only the low word (as libseccomp does). */
  readonly argBits: 32 | 64;
  /** Range of syscall numbers that belong to this ABI under its auditArch (inclusive). */
  readonly nrMin: number;
  readonly nrMax: number;
}

const U32_MAX = 0xffffffff;

export const ARCHES: Readonly<Record<SeccompArch, ArchInfo>> = {
  x86_64: {
    arch: 'x86_64', scmpName: 'SCMP_ARCH_X86_64', auditArch: (62 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
    argBits: 64, nrMin: 0, nrMax: X32_SYSCALL_BIT - 1,
  },
  x32: {
    // x32 passes arguments in full 64-bit registers and most of its syscalls are the x86_64
    // implementations, so its arguments are compared as 64-bit values (stricter than libseccomp).
    arch: 'x32', scmpName: 'SCMP_ARCH_X32', auditArch: (62 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
    argBits: 64, nrMin: X32_SYSCALL_BIT, nrMax: U32_MAX,
  },
  x86: {
    arch: 'x86', scmpName: 'SCMP_ARCH_X86', auditArch: (3 | AUDIT_ARCH_LE) >>> 0,
    argBits: 32, nrMin: 0, nrMax: U32_MAX,
  },
  aarch64: {
    arch: 'aarch64', scmpName: 'SCMP_ARCH_AARCH64', auditArch: (183 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
    argBits: 64, nrMin: 0, nrMax: U32_MAX,
  },
  arm: {
    arch: 'arm', scmpName: 'SCMP_ARCH_ARM', auditArch: (40 | AUDIT_ARCH_LE) >>> 0,
    argBits: 32, nrMin: 0, nrMax: U32_MAX,
  },
  riscv64: {
    arch: 'riscv64', scmpName: 'SCMP_ARCH_RISCV64', auditArch: (243 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
    argBits: 64, nrMin: 0, nrMax: U32_MAX,
  },
};

/** OCI/libseccomp architecture names -> our arch, or null for a known arch we have no table for. */
const SCMP_ARCH_NAMES: ReadonlyMap<string, SeccompArch | null> = new Map<string, SeccompArch | null>([
  ['SCMP_ARCH_X86_64', 'x86_64'], ['SCMP_ARCH_X86', 'x86'], ['SCMP_ARCH_X32', 'x32'],
  ['SCMP_ARCH_AARCH64', 'aarch64'], ['SCMP_ARCH_ARM', 'arm'], ['SCMP_ARCH_RISCV64', 'riscv64'],
  ...[
    'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL',
    'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
    'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC',
    'SCMP_ARCH_PARISC64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH',
    'SCMP_ARCH_SHEB', 'SCMP_ARCH_RISCV32',
  ].map((n) => [n, null] as [string, null]),
]);

/**
 * Resolves an OCI architecture name. Returns undefined for a name libseccomp does not know
 * (an error), null for a real architecture berth has no syscall table for.
 */
export function scmpArch(name: string): SeccompArch | null | undefined {
  return SCMP_ARCH_NAMES.get(name);
}

/** ABIs a process may use on a host of the given native arch (a filter needs no other). */
export const RUNNABLE_ON: Readonly<Record<SeccompArch, readonly SeccompArch[]>> = {
  x86_64: ['x86_64', 'x86', 'x32'],
  x86: ['x86'],
  x32: ['x32'],
  aarch64: ['aarch64', 'arm'],
  arm: ['arm'],
  riscv64: ['riscv64'],
};

const NATIVE_ALIASES: ReadonlyMap<string, SeccompArch> = new Map<string, SeccompArch>([
  ['x64', 'x86_64'], ['x86_64', 'x86_64'], ['amd64', 'x86_64'],
  ['ia32', 'x86'], ['x86', 'x86'], ['i386', 'x86'], ['386', 'x86'],
  ['x32', 'x32'],
  ['arm64', 'aarch64'], ['aarch64', 'aarch64'],
  ['arm', 'arm'],
  ['riscv64', 'riscv64'],
]);

/**
 * Resolves a native architecture given as Node's `process.arch` ("x64"), a kernel/GNU name
 * ("x86_64"), a Go name ("amd64") or an OCI name ("SCMP_ARCH_X86_64").
 */
export function resolveNativeArch(name: string = process.arch): SeccompArch {
  const a = NATIVE_ALIASES.get(name) ?? scmpArch(name);
  if (!a) throw new Error(`seccomp: unsupported native architecture "${name}"`);
  return a;
}
