// The store's parsed-spec cache (src/engine/store/json-cache.ts): every read gets a fresh copy
// equal to what JSON.parse gives, so a reader changing its record can never change another's.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonClone, parseCached } from '../../src/engine/store/json-cache.js';
import { Store } from '../../src/engine/store/db.js';
import { newId } from '../../src/engine/ids.js';
import { ZERO_TIME, type ContainerRecord } from '../../src/engine/types.js';
import { rfc3339Nano } from '../../src/engine/time.js';

const sample = '{"a":[1,"x",null,true,{"b":{"c":[]}}],"2":"int key","1":0.5,"__proto__":{"polluted":1},"s":"\\u00e9\\n"}';

describe('json cache', () => {
  it('jsonClone builds what JSON.parse builds, own __proto__ key included', () => {
    const v = JSON.parse(sample);
    const c = jsonClone(v);
    assert.deepEqual(c, v);
    assert.equal(JSON.stringify(c), JSON.stringify(v), 'same key order');
    assert.equal(Object.getPrototypeOf(c), Object.prototype, 'the prototype is untouched');
    assert.ok(Object.hasOwn(c, '__proto__'));
    assert.equal((c as { polluted?: number }).polluted, undefined);
    assert.notEqual(c.a, v.a);
    assert.notEqual(c.a[4].b, v.a[4].b);
  });

  it('parseCached gives each reader its own copy; a changed text is parsed anew', () => {
    const id = newId();
    const first = parseCached(id, sample) as { a: unknown[] };
    first.a.push('mutated');
    const second = parseCached(id, sample) as { a: unknown[] };
    assert.deepEqual(second, JSON.parse(sample), 'a reader changing its copy changes no other');
    assert.notEqual(second, first);
    second.a.length = 0;
    assert.deepEqual(parseCached(id, sample), JSON.parse(sample));
    assert.deepEqual(parseCached(id, '{"other":1}'), { other: 1 });
    assert.deepEqual(parseCached(id, sample), JSON.parse(sample));
  });

  it('records read from the store do not share their spec', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-json-cache-'));
    const store = Store.open(dir);
    try {
      const id = newId();
      const spec = { ociVersion: '1.2.0', process: { args: ['true'], capabilities: { bounding: ['CAP_KILL'] } }, linux: { namespaces: [{ type: 'network' }] } };
      const rec = {
        id, name: `json-cache-${id.slice(0, 8)}`, image: '/r', rootfs: '/r', created: rfc3339Nano(), state: 'created', pid: 0, monitorPid: 0, monitorStart: '',
        startedAt: ZERO_TIME, finishedAt: ZERO_TIME, exitCode: 0, oomKilled: false, error: '', restartCount: 0, cleaned: true, seccompFile: '',
        config: {}, hostConfig: {}, spec,
      } as unknown as ContainerRecord;
      store.insertContainer(rec);
      const a = store.get(id)!;
      (a.spec.linux!.namespaces![0] as { path?: string }).path = '/proc/1/ns/net';
      a.spec.process!.capabilities!.bounding = [];
      const b = store.get(id)!;
      assert.deepEqual(b.spec, spec);
      assert.equal(store.update(id, { spec: { ...spec, hostname: 'h' } as never }), true);
      assert.equal(store.get(id)!.spec.hostname, 'h', 'an updated spec is read anew');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
