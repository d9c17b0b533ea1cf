// Rootless id-map planning (src/runtime/rootless.ts) and the plan ops it and the isolation work
// produce (OOM_SCORE_ADJ in child1, IDMAP_TREE flags, NEWIDMAP/SETGROUPS_DENY).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileCreate } from '../../src/runtime/compile.js';
import { RuntimeError } from '../../src/runtime/errors.js';
import { isCgroupPermissionError, parseSubIds, planRootlessIdMaps, type RootlessHost } from '../../src/runtime/rootless.js';
import { CgroupError } from '../../src/cgroups/errors.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Spec } from '../../src/spec/types.js';

const host = (over: Partial<RootlessHost> = {}): RootlessHost => ({
  euid: 1000, egid: 1000, user: 'alice', subuid: 'alice:100000:65536\n', subgid: 'alice:100000:65536\n',
  findTool: (n) => `/usr/bin/${n}`, ...over,
});

function spec(uid: [number, number, number][], gid = uid): Spec {
  const s = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 });
  s.linux!.uidMappings = uid.map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
  s.linux!.gidMappings = gid.map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
  return s;
}

describe('parseSubIds', () => {
  it('takes lines naming the user or its uid, skips comments and junk', () => {
    const text = '# c\nbob:1:2\nalice:100000:65536\n1000:300000:10\nalice:x:5\nalice:5\n\nalice:200000:0\n';
    assert.deepEqual(parseSubIds(text, 'alice', 1000), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
    assert.deepEqual(parseSubIds(text, undefined, 1000), [{ start: 300000, count: 10 }]);
  });
});

describe('planRootlessIdMaps', () => {
  it('root writes the maps itself', () => {
    assert.equal(planRootlessIdMaps(spec([[0, 5, 1]]), host({ euid: 0 })), undefined);
  });
  it('one own id: written directly, setgroups denied', () => {
    assert.deepEqual(planRootlessIdMaps(spec([[0, 1000, 1]]), host()), { setgroupsDeny: true });
  });
  it('several ranges inside /etc/subuid: newuidmap and newgidmap, setgroups allowed', () => {
    assert.deepEqual(planRootlessIdMaps(spec([[0, 1000, 1], [1, 100000, 65536]]), host()), { setgroupsDeny: false, uid: '/usr/bin/newuidmap', gid: '/usr/bin/newgidmap' });
  });
  it('only the uid map needs a helper: gid written directly with setgroups denied', () => {
    assert.deepEqual(planRootlessIdMaps(spec([[0, 1000, 1], [1, 100000, 10]], [[0, 1000, 1]]), host()), { setgroupsDeny: true, uid: '/usr/bin/newuidmap' });
  });
  it('a range outside the delegated ones is refused, naming the field and the ranges', () => {
    assert.throws(() => planRootlessIdMaps(spec([[0, 1000, 1], [1, 165000, 1000]]), host()), (e: unknown) =>
      e instanceof RuntimeError && /linux\.uidMappings\[1\]: host ids 165000-165999 are not delegated to user alice \(uid 1000\).*\/etc\/subuid gives it \(100000-165535\)/.test(e.message));
    assert.throws(() => planRootlessIdMaps(spec([[0, 0, 1]]), host()), /linux\.uidMappings\[0\]: host ids 0-0/);
    assert.throws(() => planRootlessIdMaps(spec([[0, 1000, 1]], [[0, 1000, 1], [1, 5, 1]]), host({ subgid: '' })), /linux\.gidMappings\[1\].*\/etc\/subgid gives it \(none\)/);
  });
  it('without newuidmap: a clear error', () => {
    assert.throws(() => planRootlessIdMaps(spec([[0, 1000, 1], [1, 100000, 10]]), host({ findTool: () => undefined })), /needs newuidmap \(install the "uidmap" package\)/);
  });
  it('joining a user namespace needs no maps', () => {
    const s = spec([[0, 1000, 1]]);
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'user' ? { type: 'user', path: '/proc/1/ns/user' } : n));
    assert.equal(planRootlessIdMaps(s, host()), undefined);
  });
});

describe('isCgroupPermissionError', () => {
  it('looks through causes', () => {
    const eacces = Object.assign(new Error('x'), { code: 'EACCES' });
    assert.equal(isCgroupPermissionError(new CgroupError('cannot create', 'linux.cgroupsPath', { cause: eacces })), true);
    assert.equal(isCgroupPermissionError(new CgroupError('bad value', 'linux.resources.memory.limit')), false);
    assert.equal(isCgroupPermissionError(Object.assign(new Error('x'), { code: 'ENOSPC' })), false);
  });
});

describe('plan ops of the isolation work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-plan-'));
  mkdirSync(join(dir, 'src'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ops = (s: Spec, extra: Partial<Parameters<typeof compileCreate>[0]> = {}) => compileCreate({ spec: s, bundle: dir, mode: 'wait', ...extra });

  it('oomScoreAdj is written by child1 before the init exists, not by the init', () => {
    const s = defaultSpec({ cgroupNamespace: false });
    s.process!.terminal = false;
    s.process!.oomScoreAdj = 300;
    const plan = ops(s);
    const i = plan.findIndex((o) => o[0] === 'OOM_SCORE_ADJ');
    assert.deepEqual(plan[i], ['OOM_SCORE_ADJ', 300]);
    assert.ok(i < plan.findIndex((o) => o[0] === 'ROOTFS'));
    assert.equal(plan.some((o) => o[0] === 'WRITE_FILE' && o[1] === '/proc/self/oom_score_adj'), false);
  });

  it('IDMAP_TREE flags: 1 copies submounts (rbind), 2 idmaps them (ridmap)', () => {
    const m = [{ containerID: 0, hostID: 1000, size: 1 }];
    const flags = (options: string[]) => {
      const s = defaultSpec({ cgroupNamespace: false });
      s.process!.terminal = false;
      s.mounts!.push({ destination: '/x', type: 'bind', source: join(dir, 'src'), options, uidMappings: m, gidMappings: m });
      return ops(s).find((o) => o[0] === 'IDMAP_TREE')![4];
    };
    assert.equal(flags(['bind', 'idmap']), 0);
    assert.equal(flags(['rbind', 'idmap']), 1);
    assert.equal(flags(['bind', 'ridmap']), 2);
    assert.equal(flags(['rbind', 'ridmap']), 3);
  });

  it('rootless maps: NEWIDMAP and SETGROUPS_DENY come before the maps; no groups are set', () => {
    const s = spec([[0, 1000, 1], [1, 100000, 10]], [[0, 1000, 1]]);
    s.process!.terminal = false;
    s.process!.user.additionalGids = [0];
    const plan = ops(s, { idmapTools: { uid: '/usr/bin/newuidmap', setgroupsDeny: true } });
    const names = plan.map((o) => o[0]);
    assert.ok(names.indexOf('SETGROUPS_DENY') < names.indexOf('UIDMAP'));
    assert.deepEqual(plan.find((o) => o[0] === 'NEWIDMAP'), ['NEWIDMAP', 'uid_map', '/usr/bin/newuidmap']);
    assert.deepEqual(plan.find((o) => o[0] === 'USER'), ['USER', 0, 0]);
  });
});
