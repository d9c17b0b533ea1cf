// The plan ops of an idmapped rootfs (IDMAP_TREE + ROOTFS_TREE), cloned bind sources
// (BIND_TREE), the seccomp agent's message template, and the chown-copy id shift.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileCreate } from '../../src/runtime/compile.js';
import type { PlanOp } from '../../src/runtime/plan.js';
import { wantsIdmapRootfs } from '../../src/runtime/idmap-rootfs.js';
import { shiftId } from '../../src/runtime/rootfs-shift.js';
import { listenerStateTemplate, PID_MARK } from '../../src/runtime/seccomp-listener.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Spec } from '../../src/spec/types.js';

const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];

function spec(edit?: (s: Spec) => void): Spec {
  const s = defaultSpec({ args: ['sh'] });
  s.process!.terminal = false;
  s.root = { path: '/r', readonly: false };
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup');
  const lx = s.linux!;
  lx.namespaces = [...lx.namespaces!.filter((n) => n.type !== 'user'), { type: 'user' }];
  lx.uidMappings = MAP;
  lx.gidMappings = MAP;
  edit?.(s);
  return s;
}
const find = (ops: PlanOp[], op: string) => ops.filter((o) => o[0] === op);

describe('idmapped rootfs in the plan', () => {
  test('IDMAP_TREE of the rootfs is tree 0 (rbind+ridmap), ROOTFS_TREE replaces BIND_ROOTFS, mount trees follow', () => {
    const s = spec((x) => x.mounts!.push({ destination: '/idm', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] }));
    const ops = compileCreate({ spec: s, bundle: '/b', mode: 'wait', idmapRootfs: true, cloneBindSources: false });
    const trees = find(ops, 'IDMAP_TREE');
    assert.deepEqual(trees[0], ['IDMAP_TREE', '/r', '0 100000 65536\n', '0 100000 65536\n', 3]);
    assert.equal(trees[1]![1], '/tmp');
    assert.deepEqual(find(ops, 'ROOTFS_TREE'), [['ROOTFS_TREE', 0]]);
    assert.deepEqual(find(ops, 'BIND_ROOTFS'), []);
    assert.deepEqual(find(ops, 'MOUNT_FD')[0]!.slice(0, 3), ['MOUNT_FD', 1, '/idm']);
    const names = ops.map((o) => o[0]);
    assert.ok(names.indexOf('ROOTFS_TREE') < names.indexOf('MOUNT_FD') && names.indexOf('ROOTFS_TREE') < names.indexOf('PIVOT'));
  });

  test('an idmapped rootfs without a user namespace is refused', () => {
    const s = spec((x) => {
      x.linux!.namespaces = x.linux!.namespaces!.filter((n) => n.type !== 'user');
      delete x.linux!.uidMappings;
      delete x.linux!.gidMappings;
    });
    assert.throws(() => compileCreate({ spec: s, bundle: '/b', mode: 'wait', idmapRootfs: true }), /user namespace/);
  });

  test('rootfsOverride replaces root.path', () => {
    const ops = compileCreate({ spec: spec(), bundle: '/b', mode: 'wait', rootfsOverride: '/elsewhere/merged' });
    assert.deepEqual(find(ops, 'ROOTFS'), [['ROOTFS', '/elsewhere/merged']]);
  });

  test('bind sources of a user-namespaced container are cloned by the parent (BIND_TREE + MOUNT_FD), ro kept', () => {
    const s = spec((x) => x.mounts!.push({ destination: '/v', type: 'bind', source: '/tmp', options: ['rbind', 'ro'] }));
    const ops = compileCreate({ spec: s, bundle: '/b', mode: 'wait', cloneBindSources: true });
    assert.ok(find(ops, 'BIND_TREE').some((o) => o[1] === '/tmp' && o[2] === 1));
    const fd = find(ops, 'MOUNT_FD').find((o) => o[2] === '/v');
    assert.ok(fd);
    const remount = find(ops, 'MOUNT').find((o) => o[2] === '/v');
    assert.ok(remount && (Number(remount[4]) & 0x1) === 1, 'read-only remount after attaching');
    // rootless (no CAP_SYS_ADMIN for open_tree): a plain bind as before
    const plain = compileCreate({ spec: s, bundle: '/b', mode: 'wait', cloneBindSources: false });
    assert.deepEqual(find(plain, 'BIND_TREE'), []);
  });

  test('sysfs falls back to a bind of /sys when the network namespace is joined (not the container\'s own)', () => {
    const s = spec((x) => {
      x.linux!.namespaces = x.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/run/netns/x' } : n));
    });
    const sys = find(compileCreate({ spec: s, bundle: '/b', mode: 'wait', cloneBindSources: false }), 'MOUNT').find((o) => o[2] === '/sys');
    assert.equal(sys![11], '/sys');
    const own = find(compileCreate({ spec: spec(), bundle: '/b', mode: 'wait', cloneBindSources: false }), 'MOUNT').find((o) => o[2] === '/sys');
    assert.equal(own![11], '');
  });

  test('the annotation: true, copy, false; anything else is an error naming it', () => {
    const ann = (v: string) => spec((x) => (x.annotations = { 'run.oci.berth.idmap-rootfs': v }));
    assert.equal(wantsIdmapRootfs(spec()), false);
    assert.equal(wantsIdmapRootfs(ann('false')), false);
    if ((process.geteuid?.() ?? 0) === 0) {
      assert.equal(wantsIdmapRootfs(ann('true')), 'idmap');
      assert.equal(wantsIdmapRootfs(ann('copy')), 'copy');
    }
    assert.throws(() => wantsIdmapRootfs(ann('1')), /run\.oci\.berth\.idmap-rootfs.*"1" is not/);
  });
});

describe('chown-copy id shift', () => {
  test('ids inside a range move with it; ids outside every range stay', () => {
    const maps = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 100, hostID: 5000, size: 50 }];
    assert.equal(shiftId(0, maps), 1000);
    assert.equal(shiftId(9, maps), 1009);
    assert.equal(shiftId(10, maps), 10);
    assert.equal(shiftId(149, maps), 5049);
    assert.equal(shiftId(150, maps), 150);
  });
});

describe('seccomp agent message template', () => {
  const st = { ociVersion: '1.2.0', id: 'c1', status: 'creating' as const, bundle: '/b', annotations: { a: 'b' } };
  test('has the spec\'s fields and marks both pids for a new container', () => {
    const t = listenerStateTemplate(st, 'meta', { statePidIsProcess: true });
    assert.equal(t.split(PID_MARK).length, 3);
    const m = JSON.parse(t.split(PID_MARK).join('4242'));
    assert.deepEqual(m, { ociVersion: '1.2.0', fds: ['seccompFd'], pid: 4242, metadata: 'meta', state: { ...st, pid: 4242 } });
  });
  test('exec: the state keeps the init\'s pid; no metadata key when empty', () => {
    const t = listenerStateTemplate({ ...st, status: 'running', pid: 7 } as never, '', { statePidIsProcess: false });
    const m = JSON.parse(t.split(PID_MARK).join('99'));
    assert.equal(m.pid, 99);
    assert.equal(m.state.pid, 7);
    assert.ok(!('metadata' in m));
  });
  test('property: any annotations and metadata survive, and only the pids are marked', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.string()), fc.string(), (annotations, meta) => {
      const t = listenerStateTemplate({ ...st, annotations }, meta, { statePidIsProcess: true });
      assert.equal(t.split(PID_MARK).length, 3);
      const m = JSON.parse(t.split(PID_MARK).join('1'));
      assert.deepEqual(m.state.annotations, JSON.parse(JSON.stringify(annotations)));
      if (meta) assert.equal(m.metadata, meta);
    }), { numRuns: 500 });
  });
});
