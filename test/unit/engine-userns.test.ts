// --userns/--uidmap/--gidmap validation and the persisted auto ranges (never shared).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { autoSize, normalizeUserns, parseIdMapping } from '../../src/engine/userns-options.js';
import { BUILTIN_POOL, UsernsRanges } from '../../src/engine/userns-ranges.js';
import { applyUserns } from '../../src/engine/userns.js';
import { defaultSpec } from '../../src/spec/default-spec.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-userns-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const root = (process.geteuid?.() ?? 0) === 0;

describe('--userns flags', () => {
  test('host and nothing: the host user namespace', () => {
    assert.deepEqual(normalizeUserns({}), { UsernsMode: '' });
    assert.deepEqual(normalizeUserns({ userns: 'host' }), { UsernsMode: 'host' });
  });
  test('auto sizes', () => {
    assert.equal(autoSize('auto'), 65536);
    assert.equal(autoSize('auto:size=1000'), 1000);
    assert.equal(autoSize('host'), undefined);
  });
  test('mappings parse, a --uidmap alone serves for gids too', { skip: !root && 'needs root' }, () => {
    const r = normalizeUserns({ uidmap: ['0:100000:65536'] });
    assert.deepEqual(r.GidMap, [{ containerID: 0, hostID: 100000, size: 65536 }]);
    assert.equal(r.UsernsMode, 'private');
  });
  test('bad input names the flag', () => {
    assert.throws(() => parseIdMapping('--uidmap', '0:1'), /--uidmap "0:1": use CONTAINER_ID:HOST_ID:SIZE/);
    assert.throws(() => parseIdMapping('--gidmap', '0:1:0'), /SIZE must be at least 1/);
    assert.throws(() => parseIdMapping('--uidmap', `0:${2 ** 32 - 1}:2`), /passes/);
    assert.throws(() => normalizeUserns({ uidmap: ['0:1000:10', '5:5000:10'] }), /container ranges overlap/);
    assert.throws(() => normalizeUserns({ uidmap: ['0:1000:10', '10:1005:10'] }), /host ranges overlap/);
    assert.throws(() => normalizeUserns({ userns: 'auto', gidmap: ['0:1:1'] }), /conflicts/);
    assert.throws(() => normalizeUserns({ userns: 'nope' }), /invalid --userns "nope"/);
  });
});

describe('auto ranges', () => {
  test('distinct, stable per container, released, stale ones reclaimed', () => {
    const r = new UsernsRanges(dir);
    const live = new Set(['a', 'b', 'c']);
    const a = r.allocate('a', 65536, (x) => live.has(x));
    const b = r.allocate('b', 1000, (x) => live.has(x));
    assert.equal(a.hostID, BUILTIN_POOL.start);
    assert.equal(b.hostID, a.hostID + 65536);
    assert.deepEqual(r.allocate('a', 65536, (x) => live.has(x)), a, 'the same container keeps its range');
    r.release('a');
    const c = r.allocate('c', 100, (x) => live.has(x));
    assert.equal(c.hostID, BUILTIN_POOL.start, 'a released range is reused');
    // a container that no longer exists, allocated long ago: its range is free again
    writeFileSync(join(dir, 'userns-ranges.json'), JSON.stringify({ gone: { start: BUILTIN_POOL.start + 200000, size: 10, at: 0 } }));
    const d = r.allocate('d', 10, () => false);
    assert.equal(d.hostID, BUILTIN_POOL.start);
  });
  test('property: ranges handed out never overlap', () => {
    const r = new UsernsRanges(mkdtempSync(join(dir, 'p-')));
    const got: { hostID: number; size: number }[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 7 === 3) r.release(`c${i - 2}`);
      const size = 1 + ((i * 7919) % 70000);
      got.push(r.allocate(`c${i}`, size, () => true));
    }
    const live = got.filter((_, i) => !(i % 7 === 1));
    const s = [...live].sort((x, y) => x.hostID - y.hostID);
    for (let i = 1; i < s.length; i++) assert.ok(s[i]!.hostID >= s[i - 1]!.hostID + s[i - 1]!.size, 'overlap');
  });
  test('applyUserns adds the namespace, mappings and the rootfs annotation', () => {
    const s = defaultSpec({ args: ['sh'] });
    const m = [{ containerID: 0, hostID: 5, size: 1 }];
    applyUserns(s, { uid: m, gid: m });
    assert.equal(s.linux!.namespaces!.filter((n) => n.type === 'user').length, 1);
    assert.deepEqual(s.linux!.uidMappings, m);
    assert.equal(s.annotations!['run.oci.berth.idmap-rootfs'], 'true');
  });
});
