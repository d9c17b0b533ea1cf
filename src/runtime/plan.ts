// The launch plan: the flat list of steps berth-shim (native/berth-shim.c) executes.
//
// Wire format: "<byte length>\n" then records; a record is NUL-terminated strings:
//   OP \0 ARGC \0 ARG1 \0 ... ARGn \0
// Numbers are decimal or 0x-hex. The shim runs the ops in three processes (see the C file):
//
// parent ops (any position; applied before/around the first fork):
//   MODE wait|detach            wait: subreaper, forward signals, exit with the init's status
//   CONSOLE_SOCKET path         connect; the init sends the pty master there (SCM_RIGHTS)
//   CONSOLE_PROXY               the shim itself receives the master and copies it to its stdio
//   CONSOLE_SIZE_FD fd          with CONSOLE_PROXY: "rows cols\n" lines on this inherited fd set
//                               the pty's size (stdio that is no terminal has no size to copy)
//   CGROUP_PROCS file           write child1's pid (before it unshares cgroupns)
//   UIDMAP lines | GIDMAP lines written to /proc/<child1>/{uid,gid}_map after it unshares user
//   SETGROUPS_DENY              write "deny" to /proc/<child1>/setgroups first
//   NEWIDMAP uid_map|gid_map tool   use newuidmap/newgidmap (rootless) for that map
//   IDMAP_TREE src uidmap gidmap flags   prepare a detached idmapped tree (MOUNT_FD); flags:
//                               1 copy submounts (rbind), 2 idmap submounts too (ridmap)
//   BIND_TREE src recursive     a detached clone of a bind source (MOUNT_FD), opened by host
//                               root: a user-namespaced init may not reach the host path
// child1 ops:
//   SETNS type path             join (all opened first, user namespace joined first)
//   UNSHARE type...             create (user first, then maps, then the rest)
//   CGROUP_JOIN dir             child1 joins that cgroup itself, first: no kernel grace-period wait
//                               (v2: created in it by clone3 CLONE_INTO_CGROUP; v1: "0" to tasks)
//   TIMENS_OFFSET clock secs nanosecs
//   OOM_SCORE_ADJ n             written to its own /proc/self/oom_score_adj first (the init inherits it)
//   LOOPBACK_UP                 lo up in the netns made or joined (engine plans only: src/engine/loopback.ts)
// init ops, in order:
//   ROOTFS path | BIND_ROOTFS | ROOTFS_TREE treeIndex (the rootfs as an idmapped tree) | PROPAGATE target flags
//   MOUNT src dst fstype flags data create(d|f|-) remountFlags propagation attrSet attrClr fallbackBindSource
//        dst is a path inside the rootfs, resolved with RESOLVE_IN_ROOT (symlinks cannot leave it)
//   MOUNT_FD treeIndex dst create | MKNOD path type major minor mode uid gid | SYMLINK target path | MKDIR path
//   EXEC_FIFO path | SYNC_HOOKS | HOOK path timeout argc args... envc env...
//   PIVOT | MOVE_ROOT | CHROOT (no mount namespace) | EXIT status | MASK path | READONLY path | REMOUNT_ROOT flags
//   SETHOSTNAME name | SETDOMAINNAME name | WRITE_FILE path content | SETSID
//   CONSOLE rows cols uid gid bind | RLIMIT resource soft hard (-1 = unlimited) | PERSONALITY n | IOPRIO v
//   SCHED policy nice prio flags runtime deadline period | CPU_AFFINITY cpu... | CHDIR path | UMASK mode
//   KEYRING name (join a new session keyring) | CAPBSET mask | USER uid gid [groups...] | CAPSET eff perm inh | AMBIENT mask | NO_NEW_PRIVS
//   SECCOMP file flags listenerPath listenerState | ENV k=v | LOOKUP argv0 | PRESERVE_FDS n
//   READY | WAIT_START | EXEC argv...

export type PlanArg = string | number | bigint;
export type PlanOp = [op: string, ...args: PlanArg[]];

/** Encodes a plan for the shim. Strings must not contain NUL (validated at the edge). */
export function encodePlan(ops: readonly PlanOp[]): Buffer {
  const parts: string[] = [];
  for (const [op, ...args] of ops) {
    parts.push(op, String(args.length));
    for (const a of args) {
      const s = typeof a === 'string' ? a : a.toString();
      if (s.includes('\0')) throw new Error(`plan: ${op} argument contains a NUL byte`);
      parts.push(s);
    }
  }
  const body = Buffer.from(parts.length ? parts.join('\0') + '\0' : '');
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

/** Decodes a plan (for tests and `--debug` dumps). */
export function decodePlan(buf: Buffer): PlanOp[] {
  const nl = buf.indexOf(10);
  const len = Number(buf.subarray(0, nl).toString());
  const toks = len ? buf.subarray(nl + 1, nl + 1 + len).toString().split('\0') : [''];
  toks.pop();
  const ops: PlanOp[] = [];
  for (let i = 0; i < toks.length; ) {
    const op = toks[i]!;
    const argc = Number(toks[i + 1]);
    ops.push([op, ...toks.slice(i + 2, i + 2 + argc)]);
    i += 2 + argc;
  }
  return ops;
}

// Mount flags (linux/mount.h), used by the compiler.
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

// mount_setattr attributes (linux/mount.h).
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;
