// `start -a` returns the container's output and status, as docker's: for a created --rm one
// (attached from its start: nothing is missed) and for one another command started, which may
// end and be removed by its monitor's exit command before the attach (start-attach.ts): its
// status then comes from the 'die' event written before the removal, not "No such container".
import { strict as assert } from 'node:assert';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import { attachOrStatus } from '../../src/cli/berth/start-attach.js';
import { dieStatus } from '../../src/engine/die-status.js';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { until } from '../helpers/cli-procs.js';

const { t, rootfs } = testBerthWithRootfs('sattach');
let engine: Engine;
before(() => {
  engine = new Engine({ root: t.root, stateRoot: t.stateRoot });
});
after(() => engine.close());

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

test('create --rm, then start -a: its output, its status, and it is gone (5 in a row)', () => {
  for (let i = 0; i < 5; i++) {
    const name = t.uniq('sa');
    const c = t.run(['create', '--rootfs', rootfs, '--network', 'none', '--rm', '--name', name, 'sh', '-c', 'echo hi; exit 3']);
    ok(c, 'create');
    const r = t.run(['start', '-a', name]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, '');
    const inspect = t.run(['inspect', name]);
    assert.equal(inspect.status, 1, `still there after start -a returned: ${inspect.stdout}`);
  }
});

test('a --rm container started elsewhere that ended and was removed before the attach: its status, 3 in a row', async () => {
  for (let i = 0; i < 3; i++) {
    const name = t.uniq('race');
    const c = t.run(['create', '--rootfs', rootfs, '--network', 'none', '--rm', '--name', name, 'sh', '-c', 'echo hi; exit 3']);
    ok(c, 'create');
    const id = c.stdout.trim();
    const seq = engine.store.lastEventSeq(); // what start -a reads before its start
    // "another command" started it (start -a's own start found it running); it exits at once and
    // its monitor's exit command removes it: the attach comes too late, whatever the timing
    ok(t.run(['start', name]), 'start');
    await until('the exit command to remove it', () => !engine.store.get(id), 30000);
    const r = await attachOrStatus(engine, id, seq);
    assert.equal(r, 3);
    // the event is the source: with none after the start there is nothing to answer
    assert.equal(dieStatus(engine.store, id, engine.store.lastEventSeq()), undefined);
    await assert.rejects(attachOrStatus(engine, id, engine.store.lastEventSeq()), (e) => isEngineError(e, 'notfound'));
  }
});

test('started elsewhere and still running: attached; exited but not removed: its status', async () => {
  const name = t.uniq('run');
  const r = t.run(['run', '-d', '--rootfs', rootfs, '--network', 'none', '--name', name, 'sleep', '60']);
  ok(r, 'run -d');
  const id = r.stdout.trim();
  const a = await attachOrStatus(engine, id, engine.store.lastEventSeq());
  assert.ok(typeof a !== 'number', `attached, not ${String(a)}`);
  a.close();
  const mon = Number(readFileSync(join(t.stateRoot, 'containers', id, 'pid'), 'utf8').trim().split(' ')[2]);
  ok(t.run(['kill', name]), 'kill');
  await until('its monitor to go', () => gone(mon), 30000);
  assert.equal(await attachOrStatus(engine, id, engine.store.lastEventSeq()), 137);
  ok(t.run(['rm', id]), 'rm');
});
