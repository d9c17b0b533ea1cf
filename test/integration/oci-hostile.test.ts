// A hostile workload in a default-hardened container: every attempt on the host fails, with the
// errno the layer that stops it gives. The workload is test/helpers/hostile.c (static, built here).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { makeBundle, runIn, type Bundle } from '../helpers/bundle.js';
import { canBuildStatic, chownForUserns, harden, installHostile, results } from '../helpers/hostile.js';
import type { Spec } from '../../src/spec/types.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));

const skip = canBuildStatic() ? false : 'needs cc and static libc (libc6-dev) to build test/helpers/hostile.c';

/** What each attempt must end in, in the default-hardened container. */
const EXPECTED: Record<string, string[]> = {
  // the mount API: seccomp (no CAP_SYS_ADMIN), else the kernel (no CAP_SYS_ADMIN in the userns owner)
  mount_tmpfs: ['EPERM'],
  mount_bind_root: ['EPERM'],
  mount_proc: ['EPERM'],
  remount_proc_rw: ['EPERM'],
  umount_kcore: ['EPERM'],
  umount_sys_firmware: ['EPERM'],
  fsopen: ['EPERM'],
  open_tree: ['EPERM'],
  pivot_root: ['EPERM'],
  // read-only /proc and /sys files (owned by the unmapped host root, on read-only mounts); a
  // procfs mounted from a user namespace does not even show some of them (ENOENT on kernel 6.x)
  sysrq_trigger: ['EACCES', 'EROFS', 'ENOENT'],
  sysctl_hostname: ['EACCES', 'EROFS'],
  sysctl_core_pattern: ['EACCES', 'EROFS'],
  sysctl_drop_caches: ['EACCES', 'EROFS'],
  sys_uevent_helper: ['EACCES', 'EROFS', 'ENOENT'],
  cgroup_release_agent: ['EACCES', 'EROFS', 'ENOENT'],
  // masked paths read as nothing (or are absent)
  read_kcore: ['EMPTY', 'ENOENT'],
  read_keys: ['EMPTY'],
  list_sys_firmware: ['EMPTY'],
  // devices: no mknod in a user namespace, no /dev/mem
  mknod_block: ['EPERM'],
  mknod_mem: ['EPERM'],
  open_mknod_mem: ['ENOENT'],
  open_dev_mem: ['ENOENT'],
  // namespaces: no setns/unshare/clone into new namespaces; host pids are not there
  setns_pid1_mnt: ['EPERM'],
  setns_pid1_user: ['EPERM'],
  setns_hostpid_mnt: ['ENOENT'],
  unshare_mnt: ['EPERM'],
  unshare_user: ['EPERM'],
  unshare_net: ['EPERM'],
  clone_newuser: ['EPERM'],
  ptrace_hostpid: ['ESRCH'],
  kill_hostpid: ['ESRCH'],
  process_vm_readv_hostpid: ['ESRCH'],
  // kernel-global state
  init_module: ['EPERM'],
  finit_module: ['EPERM'],
  delete_module: ['EPERM'],
  kexec_load: ['EPERM'],
  reboot: ['EPERM'],
  swapon: ['EPERM'],
  iopl: ['EPERM'],
  ioperm: ['EPERM'],
  acct: ['EPERM'],
  settimeofday: ['EPERM'],
  keyctl: ['EPERM'],
  add_key: ['EPERM'],
  bpf: ['EPERM'],
  perf_event_open: ['EPERM'],
  userfaultfd: ['EPERM'],
  io_uring_setup: ['EPERM'],
  open_by_handle_at: ['EPERM'],
  socket_vsock: ['EPERM'],
  personality_bsd: ['EPERM'],
  // privileges: no new capabilities, no rlimit above the hard one, no unmapped ids
  capset_sys_admin: ['EPERM'],
  rlimit_above_hard: ['EPERM'],
  chown_unmapped: ['EINVAL'],
  setuid_unmapped: ['EINVAL'],
};

/** What the kernel alone must still refuse when seccomp is off (user namespace + capabilities). */
const KERNEL_ALONE = [
  'mount_tmpfs', 'mount_bind_root', 'mount_proc', 'remount_proc_rw', 'umount_kcore', 'umount_sys_firmware', 'fsopen', 'open_tree', 'pivot_root',
  'sysrq_trigger', 'sysctl_hostname', 'sysctl_core_pattern', 'sysctl_drop_caches', 'sys_uevent_helper', 'cgroup_release_agent',
  'read_kcore', 'read_keys', 'list_sys_firmware', 'mknod_block', 'mknod_mem', 'open_mknod_mem', 'open_dev_mem',
  'setns_pid1_mnt', 'setns_hostpid_mnt', 'unshare_mnt', 'unshare_net', 'ptrace_hostpid', 'kill_hostpid', 'process_vm_readv_hostpid',
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'reboot', 'swapon', 'iopl', 'ioperm', 'acct', 'settimeofday',
  'open_by_handle_at', 'capset_sys_admin', 'rlimit_above_hard', 'chown_unmapped', 'setuid_unmapped',
];

function hostile(edit: (s: Spec) => void, args: string[]): { status: number | null; out: Map<string, string>; stdout: string; stderr: string } {
  const b = makeBundle(['/bin/hostile', ...args], edit);
  made.push(b);
  installHostile(b.rootfs);
  if (b.spec.linux?.uidMappings) chownForUserns(b.dir, b.rootfs);
  const r = runIn(b);
  return { status: r.status, out: results(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

const failed = (v: string | undefined) => v !== undefined && v !== 'OK' && v !== 'READ' && v !== 'LISTED';

describe('hostile workload in a default-hardened container', { skip }, () => {
  test('every attempt fails with the expected errno', () => {
    const r = hostile((s) => harden(s), ['attacks', String(process.pid)]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const wrong: string[] = [];
    for (const [name, ok] of Object.entries(EXPECTED)) {
      const got = r.out.get(name);
      if (!got || !ok.includes(got)) wrong.push(`${name}: got ${got ?? '(nothing)'}, want ${ok.join('|')}`);
    }
    for (const name of r.out.keys()) if (!(name in EXPECTED)) wrong.push(`${name}: not in the expected table (${r.out.get(name)})`);
    assert.deepEqual(wrong, [], r.stdout);
  });

  test('without seccomp, the user namespace and capabilities alone still refuse the host-level attempts', () => {
    const r = hostile((s) => harden(s, { seccomp: false }), ['attacks', String(process.pid)]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const worked = KERNEL_ALONE.filter((n) => !failed(r.out.get(n))).map((n) => `${n}: ${r.out.get(n) ?? '(nothing)'}`);
    assert.deepEqual(worked, [], r.stdout);
  });

  test('without a user namespace, capabilities and seccomp alone refuse them too', () => {
    const r = hostile((s) => harden(s, { userns: false }), ['attacks', String(process.pid)]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    // as host root with CAP_CHOWN/CAP_SETUID/CAP_MKNOD, chown/setuid/mknod of a char device work;
    // the devices cgroup must then refuse to open the node
    const mayWork = new Set(['chown_unmapped', 'setuid_unmapped', 'mknod_mem', 'mknod_block']);
    const worked = Object.keys(EXPECTED).filter((n) => !mayWork.has(n) && !failed(r.out.get(n))).map((n) => `${n}: ${r.out.get(n) ?? '(nothing)'}`);
    assert.deepEqual(worked, [], r.stdout);
    assert.equal(r.out.get('open_mknod_mem'), r.out.get('mknod_mem') === 'OK' ? 'EPERM' : 'ENOENT', r.stdout);
  });

  test('a nested user namespace cannot unmask /proc (mounts are locked, proc is too revealing)', () => {
    // seccomp off so that unshare(CLONE_NEWUSER) gets through to the kernel's own checks
    const r = hostile((s) => harden(s, { seccomp: false }), ['nested']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(r.out.get('nested_unshare'), 'OK', r.stdout);
    assert.ok(['EINVAL', 'EPERM', 'ENOENT'].includes(r.out.get('nested_umount_kcore')!), r.stdout);
    assert.ok(['EINVAL', 'EPERM'].includes(r.out.get('nested_umount_keys')!), r.stdout);
    assert.ok(['EINVAL', 'EPERM'].includes(r.out.get('nested_umount_firmware')!), r.stdout);
    assert.equal(r.out.get('nested_mount_proc'), 'EPERM', r.stdout);
    assert.ok(failed(r.out.get('nested_remount_proc_sys_rw')), r.stdout);
    assert.ok(['EMPTY', 'ENOENT'].includes(r.out.get('nested_read_kcore')!), r.stdout);
    assert.equal(r.out.get('nested_read_keys'), 'EMPTY', r.stdout);
    // and with seccomp, the nested namespace is not even created
    const h = hostile((s) => harden(s), ['nested']);
    assert.equal(h.out.get('nested_unshare'), 'EPERM', h.stdout);
  });
});
