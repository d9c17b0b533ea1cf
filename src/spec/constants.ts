// Closed vocabularies of the OCI runtime spec v1.2 (config.json), shared by validate.ts and
// features.ts so that what we accept and what `berth-oci features` reports cannot drift apart.

import type { NamespaceType } from './types.js';

/** Namespace types, in the order error messages list them. */
export const NAMESPACE_TYPES: readonly NamespaceType[] = Object.freeze([
  'pid',
  'network',
  'mount',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
]);

/** Hook names in the order they run ("prestart" is deprecated but still honoured). */
export const HOOK_NAMES = Object.freeze([
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const);
export type HookName = (typeof HOOK_NAMES)[number];

/** RLIMIT_* names of setrlimit(2) and their resource numbers on Linux (asm-generic). */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

/** Clocks a time namespace can offset (linux.timeOffsets keys). */
export const TIME_OFFSET_CLOCKS = Object.freeze(['monotonic', 'boottime'] as const);

export const IOPRIO_CLASSES = Object.freeze(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const);

export const SCHED_POLICIES = Object.freeze([
  'SCHED_OTHER',
  'SCHED_FIFO',
  'SCHED_RR',
  'SCHED_BATCH',
  'SCHED_ISO',
  'SCHED_IDLE',
  'SCHED_DEADLINE',
] as const);

export const SCHED_FLAGS = Object.freeze([
  'SCHED_FLAG_RESET_ON_FORK',
  'SCHED_FLAG_RECLAIM',
  'SCHED_FLAG_DL_OVERRUN',
  'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS',
  'SCHED_FLAG_UTIL_CLAMP_MIN',
  'SCHED_FLAG_UTIL_CLAMP_MAX',
] as const);

/** Device node types of linux.devices[].type. */
export const DEVICE_TYPES = Object.freeze(['c', 'b', 'u', 'p'] as const);

/** Device cgroup rule types of linux.resources.devices[].type. */
export const DEVICE_CGROUP_TYPES = Object.freeze(['a', 'c', 'b'] as const);

/** linux.rootfsPropagation values (the spec lists four; runc also takes the recursive forms). */
export const ROOTFS_PROPAGATIONS = Object.freeze([
  'private',
  'rprivate',
  'shared',
  'rshared',
  'slave',
  'rslave',
  'unbindable',
  'runbindable',
] as const);

export const PERSONALITY_DOMAINS = Object.freeze(['LINUX', 'LINUX32'] as const);

export const SECCOMP_ACTIONS = Object.freeze([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const);

/** Actions that take an errno (errnoRet / defaultErrnoRet). */
export const SECCOMP_ERRNO_ACTIONS: readonly string[] = Object.freeze(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

export const SECCOMP_OPERATORS = Object.freeze([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const);

/** Architectures the spec (libseccomp 2.6) names. */
export const SECCOMP_ARCHS = Object.freeze([
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
] as const);

export const SECCOMP_FLAGS = Object.freeze([
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const);

/** sysctls isolated by the IPC namespace (besides the fs.mqueue.* prefix). */
export const IPC_SYSCTLS: readonly string[] = Object.freeze([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Kernel limit on the number of lines in /proc/PID/{uid,gid}_map (Linux 4.15+). */
export const MAX_ID_MAPPINGS = 340;
