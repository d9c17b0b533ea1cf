import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCreate } from '../../src/runtime/compile.js';
import { defaultSpec } from '../../src/spec/default-spec.js';

test('create plans: child1 joins each cgroup itself (CGROUP_JOIN of the directory), the parent writes no pid', () => {
  const s = defaultSpec({ args: ['true'] });
  s.process!.terminal = false;
  s.root = { path: 'rootfs', readonly: false };
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup' && m.type !== 'sysfs');
  const procsFiles = ['/sys/fs/cgroup/cpu/berth/c1/cgroup.procs', '/sys/fs/cgroup/unified/berth/c1/cgroup.procs'];
  const ops = compileCreate({ spec: s, bundle: '/tmp/b', mode: 'detach', cgroup: { procsFiles, mountPlan: () => ({ ops: [] }) as never } });
  assert.deepEqual(ops.filter((o) => o[0] === 'CGROUP_JOIN'), [['CGROUP_JOIN', '/sys/fs/cgroup/cpu/berth/c1'], ['CGROUP_JOIN', '/sys/fs/cgroup/unified/berth/c1']]);
  assert.ok(!ops.some((o) => o[0] === 'CGROUP_PROCS'));
  // no cgroup (rootless without delegation): nothing to join
  assert.ok(!compileCreate({ spec: s, bundle: '/tmp/b', mode: 'detach' }).some((o) => o[0] === 'CGROUP_JOIN'));
});
