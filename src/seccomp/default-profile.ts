// berth's default seccomp profile: an allow-list with EPERM for everything else, in the spirit of
// Docker's default. The policy, in short:
//  - Ordinary process, file, memory, signal, time-reading, IPC and socket calls are allowed.
//  - Calls that act on kernel-global state (modules, kexec, swap, clocks, accounting, keyrings,
//    quotas, reboot, raw I/O ports) or that let a process leave its sandbox (mount API, setns,
//    namespace creation, pivot_root, chroot, handle-based open) are allowed only when the
//    container holds the capability the kernel would ask for; keyrings, kexec and legacy or
//    obsolete calls (uselib, ustat, sysfs, _sysctl, nfsservctl, vm86) never.
//  - clone may not create namespaces without CAP_SYS_ADMIN; clone3 then fails with ENOSYS so
//    that libc falls back to clone, whose flags a filter can see. unshare may detach files/fs
//    state but not create namespaces without CAP_SYS_ADMIN.
//  - personality only to query, or to select Linux / Linux32 with or without UNAME26.
//  - socket(AF_VSOCK) is refused (host-guest sockets are not for containers).
//  - io_uring is refused: it reaches most of the kernel without passing through syscalls that
//    this filter can see.
// Names unknown on an architecture are skipped by the compiler, so one list serves all of them.
import { resolveNativeArch, type SeccompArch } from './arch.js';
import type { LinuxSeccomp, LinuxSyscall } from '../spec/types.js';

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWTIME = 0x00000080; // unshare/clone3 only: in clone() these bits are the exit signal
/** Namespace flags clone(2) can take (2114060288). */
export const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

const ALLOWED = `
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
  clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
  fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat
  fcntl fcntl64 fdatasync fgetxattr file_getattr file_setattr flistxattr flock fork fremovexattr
  fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
  futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents
  getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
  getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32
  getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
  get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch
  inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill
  landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link
  linkat listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr
  lsm_get_self_attr lsm_list_modules lsm_set_self_attr lstat lstat64 madvise map_shadow_stack
  membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
  mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
  mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync
  munlock munlockall munmap nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
  pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl
  pread64 preadv preadv2 prlimit64 process_mrelease process_vm_readv process_vm_writev pselect6
  pselect6_time64 ptrace pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
  recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename
  renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
  rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select
  semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg
  sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer
  setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
  setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
  setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaction sigaltstack signal
  signalfd signalfd4 sigpending sigprocmask sigreturn sigsuspend socketcall socketpair splice stat
  stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range sync_file_range2
  syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
  timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64
  timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink
  unlinkat utime utimensat utimensat_time64 utimes vfork wait4 waitid waitpid write writev
`;

/** Architecture-specific calls every program on that architecture may need. */
const ALLOWED_ARCH: Readonly<Partial<Record<SeccompArch, string>>> = {
  x86_64: 'arch_prctl modify_ldt',
  x86: 'arch_prctl modify_ldt',
  x32: 'arch_prctl modify_ldt',
  aarch64: 'arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls get_tls',
  arm: 'arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls get_tls',
  riscv64: 'riscv_flush_icache riscv_hwprobe',
};

/** Calls allowed when the container holds any of the listed capabilities. */
const BY_CAPABILITY: readonly [caps: string[], names: string][] = [
  [['CAP_SYS_ADMIN'], 'clone clone3 unshare setns mount umount umount2 pivot_root move_mount open_tree open_tree_attr fsopen fsconfig fsmount fspick mount_setattr quotactl quotactl_fd sethostname setdomainname swapon swapoff lookup_dcookie fanotify_init'],
  [['CAP_SYS_ADMIN', 'CAP_BPF'], 'bpf'],
  [['CAP_SYS_ADMIN', 'CAP_PERFMON'], 'perf_event_open'],
  [['CAP_SYS_ADMIN', 'CAP_SYSLOG'], 'syslog'],
  [['CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH'], 'name_to_handle_at'],
  [['CAP_DAC_READ_SEARCH'], 'open_by_handle_at'],
  [['CAP_SYS_BOOT'], 'reboot'],
  [['CAP_SYS_CHROOT'], 'chroot'],
  [['CAP_SYS_MODULE'], 'init_module finit_module delete_module'],
  [['CAP_SYS_PACCT'], 'acct'],
  [['CAP_SYS_PTRACE'], 'kcmp pidfd_getfd process_madvise userfaultfd'],
  [['CAP_SYS_RAWIO'], 'iopl ioperm'],
  [['CAP_SYS_TIME'], 'settimeofday stime clock_settime clock_settime64 clock_adjtime clock_adjtime64'],
  [['CAP_SYS_TTY_CONFIG'], 'vhangup'],
  [['CAP_SYS_NICE'], 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node migrate_pages move_pages'],
];

/** Architectures whose syscalls the profile admits on a host of the given architecture. */
const PROFILE_ARCHES: Readonly<Record<SeccompArch, string[]>> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  x86: ['SCMP_ARCH_X86'],
  x32: ['SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
  riscv64: ['SCMP_ARCH_RISCV64'],
};

const words = (s: string) => s.trim().split(/\s+/);

export interface DefaultProfileOptions {
  /** Host architecture (default: this host). */
  nativeArch?: string;
}

/**
 * The default profile for a container holding `capabilities` (its bounding set, e.g.
 * ["CAP_CHOWN", ...]; the "CAP_" prefix is optional). Without capabilities the profile is the
 * most restrictive one.
 */
export function defaultSeccompProfile(capabilities: readonly string[] = [], opts: DefaultProfileOptions = {}): LinuxSeccomp {
  const native = resolveNativeArch(opts.nativeArch);
  const caps = new Set(capabilities.map((c) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`)));
  const arches = PROFILE_ARCHES[native];

  const allowed = new Set(words(ALLOWED));
  for (const scmp of arches) {
    const a = Object.entries(PROFILE_ARCHES).find(([, v]) => v[0] === scmp)?.[0] as SeccompArch | undefined;
    const extra = a ? ALLOWED_ARCH[a] : undefined;
    if (extra) for (const n of words(extra)) allowed.add(n);
  }
  for (const [need, names] of BY_CAPABILITY) {
    if (need.some((c) => caps.has(c))) for (const n of words(names)) allowed.add(n);
  }

  const syscalls: LinuxSyscall[] = [{ names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' }];
  syscalls.push({
    names: ['personality'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: 0x0, op: 'SCMP_CMP_EQ' }], // PER_LINUX
  });
  for (const persona of [0x0008, 0x20000, 0x20008, 0xffffffff]) {
    // PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and 0xffffffff (query)
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }] });
  }
  syscalls.push({
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }],
  });
  if (!caps.has('CAP_SYS_ADMIN')) {
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    syscalls.push({
      names: ['unshare'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS | CLONE_NEWTIME, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [...arches],
    syscalls,
  };
}
