import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileCreate, compileExec } from '../../src/runtime/compile.js';
import { parseMountOptions } from '../../src/runtime/mount-options.js';
import { decodePlan, encodePlan, MS, MOUNT_ATTR, type PlanOp } from '../../src/runtime/plan.js';
import { compileRlimits, hostHardLimits } from '../../src/runtime/rlimits.js';
import { parseSignal } from '../../src/runtime/launch.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Spec } from '../../src/spec/types.js';

const names = (ops: PlanOp[]) => ops.map((o) => o[0]);

function spec(edit?: (s: Spec) => void): Spec {
  const s = defaultSpec({ args: ['sh'] });
  s.process!.terminal = false;
  s.root = { path: 'rootfs', readonly: false };
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup' && m.type !== 'sysfs');
  edit?.(s);
  return s;
}

describe('plan encoding', () => {
  test('round-trips ops, including empty strings', () => {
    const ops: PlanOp[] = [['MODE', 'wait'], ['MOUNT', 'a', '/b', '', 0, '', 'd', 0, 0, 0, 0, ''], ['EXEC', 'sh', '-c', 'echo "x y"']];
    const buf = encodePlan(ops);
    assert.match(buf.toString(), /^\d+\n/);
    assert.deepEqual(decodePlan(buf), ops.map((o) => o.map(String)));
  });
  test('refuses NUL bytes in arguments', () => {
    assert.throws(() => encodePlan([['ENV', 'A=\0']]), /NUL/);
  });
  test('property: any strings round-trip', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.stringMatching(/^[A-Z_]{1,12}$/), fc.array(fc.string().filter((s) => !s.includes('\0'))))), (raw) => {
      const ops = raw.map(([op, args]) => [op, ...args] as PlanOp);
      assert.deepEqual(decodePlan(encodePlan(ops)), ops);
    }), { numRuns: 500 });
  });
});

describe('mount options', () => {
  test('bind with ro is remounted', () => {
    const o = parseMountOptions(['rbind', 'ro', 'nosuid'], 'bind');
    assert.equal(o.flags, MS.BIND | MS.REC);
    assert.equal(o.bindRemountFlags, MS.RDONLY | MS.NOSUID);
  });
  test('clearing options and propagation', () => {
    const o = parseMountOptions(['nosuid', 'suid', 'ro', 'rw', 'rslave', 'mode=755', 'size=1m'], 'tmpfs');
    assert.equal(o.flags, 0);
    assert.equal(o.propagation, MS.SLAVE | MS.REC);
    assert.deepEqual(o.data, ['mode=755', 'size=1m']);
  });
  test('recursive attributes', () => {
    const o = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnoatime'], 'bind');
    assert.equal(o.attrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOATIME);
    assert.equal(o.attrClr & MOUNT_ATTR._ATIME, MOUNT_ATTR._ATIME);
  });
  test('idmap options', () => {
    assert.equal(parseMountOptions(['bind', 'ridmap'], undefined).recursiveIdmap, true);
  });
});

describe('plan compiler', () => {
  const bundle = '/tmp/bundle';
  test('create: parent, namespace and init ops in the right order', () => {
    const ops = compileCreate({ spec: spec(), bundle, mode: 'detach', execFifo: '/run/x/exec.fifo' });
    const n = names(ops);
    assert.equal(n[0], 'MODE');
    assert.ok(n.indexOf('UNSHARE') < n.indexOf('ROOTFS'));
    assert.deepEqual(ops.find((o) => o[0] === 'ROOTFS'), ['ROOTFS', '/tmp/bundle/rootfs']);
    for (const [a, b] of [['BIND_ROOTFS', 'PIVOT'], ['PIVOT', 'READONLY'], ['READONLY', 'MASK'], ['EXEC_FIFO', 'PIVOT'], ['USER', 'LOOKUP'], ['LOOKUP', 'READY'], ['READY', 'WAIT_START'], ['WAIT_START', 'EXEC']]) {
      assert.ok(n.indexOf(a!) < n.indexOf(b!), `${a} before ${b}`);
    }
    assert.equal(n[n.length - 1], 'EXEC');
  });
  test('a new user namespace gets its maps; devices are bound, not made', () => {
    const ops = compileCreate({
      spec: spec((s) => {
        s.linux!.namespaces!.push({ type: 'user' });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 5000, size: 5 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
      }),
      bundle, mode: 'wait',
    });
    assert.deepEqual(ops.find((o) => o[0] === 'UIDMAP'), ['UIDMAP', '0 1000 10\n10 5000 5\n']);
    assert.equal(ops.filter((o) => o[0] === 'MKNOD').length, 0);
    assert.ok(ops.some((o) => o[0] === 'MOUNT' && o[1] === '/dev/null' && o[4] === MS.BIND));
  });
  test('joined namespaces use SETNS; seccomp goes last with no_new_privs', () => {
    const ops = compileCreate({
      spec: spec((s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((x) => (x.type === 'network' ? { type: 'network', path: '/var/run/netns/x' } : x));
        s.process!.noNewPrivileges = true;
      }),
      bundle, mode: 'wait', seccomp: { file: '/s.bpf', flags: 0 },
    });
    assert.deepEqual(ops.find((o) => o[0] === 'SETNS'), ['SETNS', 'network', '/var/run/netns/x']);
    const n = names(ops);
    assert.equal(n[n.length - 2], 'SECCOMP');
  });
  test('without no_new_privs seccomp loads before the identity changes', () => {
    const ops = compileCreate({ spec: spec((s) => (s.process!.noNewPrivileges = false)), bundle, mode: 'wait', seccomp: { file: '/s.bpf', flags: 0 } });
    const n = names(ops);
    assert.ok(n.indexOf('SECCOMP') < n.indexOf('USER'));
  });
  test('a terminal needs a console socket or the foreground proxy', () => {
    assert.throws(() => compileCreate({ spec: spec((s) => (s.process!.terminal = true)), bundle, mode: 'detach' }), /console-socket/);
    const ops = compileCreate({ spec: spec((s) => (s.process!.terminal = true)), bundle, mode: 'wait', consoleProxy: true });
    assert.ok(ops.some((o) => o[0] === 'CONSOLE_PROXY'));
  });
  test('without a mount namespace: no propagation change, no pivot_root, a chroot', () => {
    const n = names(compileCreate({ spec: spec((s) => (s.linux!.namespaces = [{ type: 'pid' }])), bundle, mode: 'wait' }));
    assert.ok(!n.includes('PROPAGATE') && !n.includes('BIND_ROOTFS') && !n.includes('PIVOT'));
    assert.ok(n.includes('CHROOT'));
    assert.throws(() => compileCreate({ spec: spec((s) => { s.linux!.namespaces = []; s.root!.readonly = true; }), bundle, mode: 'wait' }), /root\.readonly: needs a mount namespace/);
  });
  test('exec joins every namespace and keeps the process settings', () => {
    const ops = compileExec({
      process: { args: ['ls'], cwd: '/tmp', user: { uid: 5, gid: 6, additionalGids: [7] }, env: ['A=1'] },
      namespaces: [{ type: 'mount', path: '/proc/9/ns/mnt' }, { type: 'user', path: '/proc/9/ns/user' }],
      mode: 'wait', cgroupProcs: ['/sys/fs/cgroup/pids/x/cgroup.procs'], setgroups: true,
    });
    assert.deepEqual(ops.filter((o) => o[0] === 'SETNS').length, 2);
    assert.deepEqual(ops.find((o) => o[0] === 'USER'), ['USER', 5, 6, 7]);
    assert.deepEqual(ops.find((o) => o[0] === 'CHDIR'), ['CHDIR', '/tmp']);
    assert.deepEqual(ops[ops.length - 1], ['EXEC', 'ls']);
    // child1 joins the cgroup itself (its directory), before any namespace; nothing for the parent to write
    assert.deepEqual(ops.filter((o) => o[0] === 'CGROUP_JOIN'), [['CGROUP_JOIN', '/sys/fs/cgroup/pids/x']]);
    assert.ok(!ops.some((o) => o[0] === 'CGROUP_PROCS'));
    assert.ok(ops.findIndex((o) => o[0] === 'CGROUP_JOIN') < ops.findIndex((o) => o[0] === 'SETNS'));
  });
});

describe('rlimits and signals', () => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 20000                files     \nMax processes             unlimited            unlimited            processes \n';
  test('host hard limits parse', () => {
    const h = hostHardLimits(limits);
    assert.equal(h[7], 20000);
    assert.equal(h[6], 2 ** 64 - 1);
  });
  test('a limit above the hard limit is a clear error without CAP_SYS_RESOURCE', () => {
    assert.throws(() => compileRlimits([{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 << 20 }], false), /above this host's hard limit/);
    assert.deepEqual(compileRlimits([{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 << 20 }], true), [[7, '1', String(1 << 20)]]);
  });
  test('signals by name and number', () => {
    assert.equal(parseSignal('KILL'), 9);
    assert.equal(parseSignal('SIGTERM'), 15);
    assert.equal(parseSignal('10'), 10);
    assert.equal(parseSignal('RTMIN+2'), 36);
    assert.equal(parseSignal('NOPE'), null);
    assert.equal(parseSignal('65'), null);
  });
});
