import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../src/engine/store/db.js';
import { canTransition } from '../../src/engine/state.js';
import { newId, randomName, validName } from '../../src/engine/ids.js';
import { isEngineError } from '../../src/engine/errors.js';
import { ZERO_TIME, type ContainerRecord } from '../../src/engine/types.js';
import { parseDuration, parseRfc3339, parseSince, rfc3339Nano } from '../../src/engine/time.js';

function rec(id: string, name: string): ContainerRecord {
  return {
    id, name, image: '/rootfs', rootfs: '/rootfs', created: rfc3339Nano(), state: 'created', pid: 0, monitorPid: 0, monitorStart: '',
    startedAt: ZERO_TIME, finishedAt: ZERO_TIME, exitCode: 0, oomKilled: false, error: '', restartCount: 0, cleaned: true,
    config: { Cmd: ['true'] } as never, hostConfig: {} as never, spec: { ociVersion: '1.2.0' }, seccompFile: '',
  };
}

function withStore(fn: (s: Store, dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  const s = Store.open(dir);
  try {
    fn(s, dir);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ids are 64 hex digits, names look like docker names', () => {
  const a = newId();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, newId());
  for (let i = 0; i < 50; i++) assert.match(randomName(), /^[a-z]+_[a-z]+$/);
  assert.match(randomName(1), /^[a-z]+_[a-z]+\d$/);
  assert.ok(validName('web-1.a_b'));
  assert.ok(!validName('-x'));
  assert.ok(!validName('a/b'));
});

test('store: insert, lookup by id, name and unique prefix', () => {
  withStore((s) => {
    const a = rec('abc' + '0'.repeat(61), 'one');
    const b = rec('abd' + '0'.repeat(61), 'two');
    s.insertContainer(a);
    s.insertContainer(b);
    assert.equal(s.resolve('one').id, a.id);
    assert.equal(s.resolve('/two').id, b.id);
    assert.equal(s.resolve('abc').id, a.id);
    assert.equal(s.resolve(a.id).name, 'one');
    assert.throws(() => s.resolve('ab'), (e) => isEngineError(e, 'conflict') && /multiple IDs/.test(e.message));
    assert.throws(() => s.resolve('ffff'), (e) => isEngineError(e, 'notfound') && /No such container: ffff/.test(e.message));
    assert.deepEqual(s.get(a.id)!.config, { Cmd: ['true'] });
  });
});

test('store: names are unique (the database refuses a second one)', () => {
  withStore((s) => {
    const a = rec(newId(), 'web');
    s.insertContainer(a);
    assert.throws(() => s.insertContainer(rec(newId(), 'web')), (e) => isEngineError(e, 'conflict') && e.message.includes(`"/web" is already in use by container "${a.id}"`));
    const b = rec(newId(), 'db');
    s.insertContainer(b);
    assert.throws(() => s.rename(b.id, 'web'), (e) => isEngineError(e, 'conflict'));
    s.rename(b.id, 'db2');
    assert.equal(s.resolve('db2').id, b.id);
  });
});

test('state machine: legal and illegal transitions', () => {
  assert.ok(canTransition('created', 'running'));
  assert.ok(canTransition('running', 'paused'));
  assert.ok(canTransition('paused', 'running'));
  assert.ok(canTransition('running', 'restarting'));
  assert.ok(canTransition('exited', 'running'));
  assert.ok(!canTransition('created', 'paused'));
  assert.ok(!canTransition('dead', 'running'));
  assert.ok(!canTransition('exited', 'paused'));
  withStore((s) => {
    const a = rec(newId(), 'sm');
    s.insertContainer(a);
    assert.throws(() => s.update(a.id, { state: 'paused' }), /illegal state change created -> paused/);
    assert.ok(s.update(a.id, { state: 'running', pid: 42 }, ['created']));
    // compare-and-set: only one of two racing "exited" updates wins
    assert.ok(s.update(a.id, { state: 'exited', exitCode: 3 }, ['running']));
    assert.ok(!s.update(a.id, { state: 'exited', exitCode: 4 }, ['running']));
    assert.equal(s.get(a.id)!.exitCode, 3);
    assert.equal(s.live().length, 0);
  });
});

test('store: volumes in use cannot be removed; removing the container frees them', () => {
  withStore((s) => {
    const a = rec(newId(), 'v');
    s.insertContainer(a);
    assert.ok(s.insertVolume({ name: 'data', driver: 'local', mountpoint: '/x', created: rfc3339Nano(), labels: {}, options: {}, anonymous: false }));
    assert.ok(!s.insertVolume({ name: 'data', driver: 'local', mountpoint: '/y', created: rfc3339Nano(), labels: {}, options: {}, anonymous: false }));
    s.linkVolume(a.id, 'data', '/data');
    assert.deepEqual(s.volumeUsers('data'), [a.id]);
    assert.throws(() => s.removeVolume('data'), (e) => isEngineError(e, 'conflict') && /volume is in use/.test(e.message));
    s.removeContainer(a.id);
    assert.ok(s.removeVolume('data'));
  });
});

test('store: events are ordered and survive reopening (WAL)', () => {
  withStore((s, dir) => {
    s.addEvent('container', 'create', 'x', { name: 'n' });
    s.addEvent('container', 'start', 'x');
    const ev = s.events();
    assert.deepEqual(ev.map((e) => e.action), ['create', 'start']);
    assert.equal(ev[0]!.attributes.name, 'n');
    assert.ok(ev[1]!.timeNano >= ev[0]!.timeNano);
    assert.deepEqual(s.events(ev[0]!.seq).map((e) => e.action), ['start']);
    const s2 = Store.open(dir);
    assert.equal(s2.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s2.lastEventSeq(), ev[1]!.seq);
    s2.close();
  });
});

test('time: RFC 3339 with nanoseconds, durations, since', () => {
  const t = rfc3339Nano(1700000000123456789n);
  assert.equal(t, '2023-11-14T22:13:20.123456789Z');
  assert.equal(parseRfc3339(t), 1700000000123456789n);
  assert.equal(parseRfc3339('2023-11-14T22:13:20Z'), 1700000000000000000n);
  assert.equal(parseDuration('1m30s'), 90_000_000_000n);
  assert.equal(parseDuration('12x'), null);
  assert.equal(parseSince('10s', 100_000_000_000n), 90_000_000_000n);
  assert.equal(parseSince('1700000000.5'), 1700000000500000000n);
});
