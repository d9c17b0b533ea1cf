// `wait` of a --rm container that another process (its monitor's exit command) removed between
// two of wait's looks, before wait saw it exit: the status is the container's (from the 'die'
// event the remover wrote, src/engine/die-status.ts), not 0. The waiting thread is held
// (synchronously: wait's timers cannot run) until the row is gone, so the order is certain.
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('waitrm');
let engine: Engine;
before(() => {
  engine = new Engine({ root: t.root, stateRoot: t.stateRoot });
});
after(() => engine.close());

const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test('wait of a --rm container removed elsewhere unseen: its exit status (3 in a row, 4 then 0 then 7)', async () => {
  for (const code of [4, 0, 7]) {
    const name = t.uniq('w');
    const r = t.run(['run', '-d', '--rm', '--rootfs', rootfs, '--network', 'none', '--name', name, 'sh', '-c', `sleep 0.3; exit ${code}`]);
    ok(r, 'run -d --rm');
    const id = r.stdout.trim();
    const waiting = engine.wait(id); // its first look: running
    for (const until = Date.now() + 30000; engine.store.get(id) && Date.now() < until;) block(20);
    assert.equal(engine.store.get(id), undefined, 'the exit command did not remove it');
    assert.equal(await waiting, code);
  }
});
