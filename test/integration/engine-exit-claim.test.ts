// A library run's exit, recorded and cleaned up by the library alone (no exit command from the
// monitor): the exit's commit claims the cleanup too (engine.ts refresh), so what is checked here
// is that nothing of the container is left behind and the store says so, once per exit.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Berth } from '../../src/index.js';
import { testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('exitclaim');

const cgroupsOf = (id: string) =>
  ['memory', 'pids', 'cpu', 'freezer', 'devices', 'cpuset', 'blkio', 'unified'].map((h) => `/sys/fs/cgroup/${h}/berth/${id}`).filter((d) => existsSync(d));

function stored(id: string): { state: string; cleaned: number; exit_code: number; dies: number } {
  const db = new Database(join(t.root, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare('SELECT state, cleaned, exit_code FROM containers WHERE id = ?').get(id) as { state: string; cleaned: number; exit_code: number };
    const dies = (db.prepare("SELECT count(*) AS n FROM events WHERE actor_id = ? AND action = 'die'").get(id) as { n: number }).n;
    return { ...r, dies };
  } finally {
    db.close();
  }
}

test('library run without an exit command: exited, cleaned, one die event, nothing left', async () => {
  const lib = new Berth({ root: t.root, stateRoot: t.stateRoot, exitCommand: null });
  try {
    for (let i = 0; i < 3; i++) {
      const name = t.uniq('claim');
      const r = await lib.run({ rootfs, name, network: 'none', cmd: ['sh', '-c', `exit ${i + 3}`] });
      assert.equal(r.exitCode, i + 3);
      assert.deepEqual(stored(r.id), { state: 'exited', cleaned: 1, exit_code: i + 3, dies: 1 });
      assert.deepEqual(cgroupsOf(r.id), [], 'its cgroups are removed');
      assert.equal(existsSync(join(t.stateRoot, 'containers', r.id)), false, 'its state directory is removed');
      assert.equal(lib.inspect(r.id).State && (lib.inspect(r.id).State as { Status: string }).Status, 'exited');
      // it starts again (the claim left nothing a start trips over), and is removed on request
      await lib.start(r.id);
      assert.equal(await lib.wait(r.id), i + 3);
      assert.equal(stored(r.id).dies, 2);
      await lib.remove(r.id);
      assert.deepEqual(cgroupsOf(r.id), []);
    }
    const autoRm = await lib.run({ rootfs, name: t.uniq('claim-rm'), network: 'none', cmd: ['true'], autoRemove: true });
    assert.equal(autoRm.exitCode, 0);
    assert.deepEqual(cgroupsOf(autoRm.id), []);
    assert.equal(readdirSync(join(t.root, 'containers')).includes(autoRm.id), false, 'the --rm container is gone');
  } finally {
    lib.close();
  }
});
