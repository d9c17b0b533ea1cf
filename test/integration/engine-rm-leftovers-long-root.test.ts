// The monitor's record of what it left running (<state dir>.procs, native/berth-monitor.c
// record_leftovers) under a --state-root longer than 256 bytes: the record is written under the
// state directory's own name, so remove waits for the exit command, and nothing else is left in
// the state root (the old fixed buffer cut the path and named the record after a fragment of it).
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { BERTH_BIN } from '../../src/engine/engine.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { leaks, until } from '../helpers/cli-procs.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-longroot-'));
const rootfs = join(dir, 'rootfs');
const root = join(dir, 'root');
const top = `/run/berth-lr${process.pid}-${'a'.repeat(90)}`;
const stateRoot = join(top, 'b'.repeat(90), 'c'.repeat(90));
const containers = join(stateRoot, 'containers');
let berth: Berth;
const ids: string[] = [];

/** The exit command (`system cleanup ID`), started late so that it still runs when the monitor is gone. */
const slowCleanup = (id: string) => ['/bin/sh', '-c', 'sleep 0.7; exec "$@"', 'sh', process.execPath, BERTH_BIN, '--root', root, '--state-root', stateRoot, 'system', 'cleanup', id];

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const monitorOf = (id: string) => Number(readFileSync(join(containers, id, 'pid'), 'utf8').trim().split(' ')[2]);
/** The exit command's process: the sh that waits, then the berth it becomes. */
function exitCommandOf(id: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`cleanup\0${id}`) && !gone(Number(p))) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

before(() => {
  assert.ok(stateRoot.length > 256, `a state root of ${stateRoot.length} bytes`);
  mkdirSync(rootfs, { recursive: true });
  makeBusyboxRootfs(rootfs);
  berth = new Berth({ root, stateRoot, exitCommand: slowCleanup });
});

after(async () => {
  for (const id of ids) await berth.remove(id, { force: true }).catch(() => {});
  berth.close();
  const left = existsSync(containers) ? readdirSync(containers) : [];
  rmSync(top, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(left, [], 'nothing left in the state root');
  assert.deepEqual(leaks(ids), []);
});

for (const autoRemove of [false, true]) {
  test(`a state root of 270+ bytes, ${autoRemove ? '--rm' : 'no --rm'}: the record names the exit command, rm (or wait, --rm) waits for it, nothing is left (3 in a row)`, async () => {
    for (let i = 0; i < 3; i++) {
      const { id } = await berth.create({ rootfs, network: 'none', cmd: ['true'], autoRemove });
      ids.push(id);
      await berth.start(id);
      const mon = monitorOf(id);
      await until('the monitor to go', () => gone(mon), 20000);
      const cmd = await until('the exit command to run', () => exitCommandOf(id).length > 0 && exitCommandOf(id), 5000);
      // the monitor wrote the record as it went; the exit command sleeps 0.7 s before it can forget it
      const record = join(containers, `${id}.procs`);
      assert.ok(existsSync(record), `no ${id}.procs beside the state directory: ${readdirSync(containers).join(' ')}`);
      assert.match(readFileSync(record, 'utf8'), new RegExp(`^${cmd[0]} \\d+\\n`));
      // --rm: `wait` returns once it is removed (as `run --rm` does); else `rm`: both wait for what the monitor left running
      if (autoRemove) assert.equal(await berth.wait(id), 0);
      else await berth.remove(id, { force: true });
      assert.ok(cmd.every(gone), `the exit command is gone when ${autoRemove ? 'wait' : 'remove'} returns`);
      assert.equal(berth.list({ all: true }).length, 0, 'no container left');
      assert.deepEqual(readdirSync(containers), [], 'nothing left beside the state directories');
      assert.deepEqual(leaks([id]), []);
    }
  });
}
