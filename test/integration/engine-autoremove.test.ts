// --rm (AutoRemove) against real containers (root): when `berth run --rm` (or `start -a`, `stop`,
// `wait`, the library's run) returns, the container is gone already -- checked in the store and
// on disk directly, since `ps -a` reconciles and would hide a container left for a later command.
// A detached --rm container is removed by its monitor's exit command when it ends; a killed CLI
// (and a killed monitor) leave a container that the next command reconciles and removes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Berth } from '../../src/index.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { BERTH, ok, testBerth } from '../helpers/berth-cli.js';

const t = testBerth('autorm');
const rootfs = join(t.dir, 'rootfs');
const run = (...a: string[]) => ['run', '--rootfs', rootfs, '--network', 'none', ...a];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store's row for a name, read without the engine (no reconcile). */
function row(name: string): { id: string; state: string } | undefined {
  const db = new Database(join(t.root, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, state FROM containers WHERE name = ?').get(name) as { id: string; state: string } | undefined;
  } finally {
    db.close();
  }
}

const entries = (d: string) => (existsSync(d) ? readdirSync(d) : []);

/** Everything a container of this id (or short id) could leave: state, container dir, cgroups. */
function leftovers(idPrefix: string): string[] {
  const out: string[] = [];
  for (const d of [join(t.stateRoot, 'containers'), join(t.root, 'containers')]) for (const e of entries(d)) if (e.startsWith(idPrefix)) out.push(join(d, e));
  for (const h of ['memory', 'pids', 'cpu', 'freezer', 'unified']) for (const e of entries(`/sys/fs/cgroup/${h}/berth`)) if (e.startsWith(idPrefix)) out.push(`/sys/fs/cgroup/${h}/berth/${e}`);
  return out;
}

/** `f()` once it is empty, or as it is after `ms`. */
async function settled(f: () => string[], ms = 5000): Promise<string[]> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(20)) if (f().length === 0) return [];
  return f();
}

/** Polls (no reconcile) until the row is gone; generous, the machine is shared. */
async function gone(name: string, ms = 60000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) if (!row(name)) return true;
  return !row(name);
}

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  writeFileSync(join(rootfs, 'notexec'), 'data');
  chmodSync(join(rootfs, 'notexec'), 0o644);
});

after(() => t.cleanup());

describe('auto-remove (--rm)', () => {
  test('run --rm: 20 runs, each gone (store, state, cgroups) when the CLI returns, with its status', () => {
    for (let i = 0; i < 20; i++) {
      const name = t.uniq('fg');
      const want = i % 4 === 0 ? 0 : i;
      // the hostname is the short id: what to look for on disk once the row is gone
      const r = t.run(run('--rm', '--name', name, 'sh', '-c', `hostname; exit ${want}`));
      assert.equal(r.status, want, `run ${i}: ${r.stderr}`);
      const short = r.stdout.trim();
      assert.match(short, /^[0-9a-f]{12}$/);
      assert.equal(row(name), undefined, `run ${i}: still in the store after run --rm returned`);
      assert.deepEqual(leftovers(short), [], `run ${i}: left behind`);
      assert.equal(t.run(['ps', '-a', '-q', '--filter', `name=${name}`]).stdout, '');
    }
  });

  test('run --rm under load: 24 runs, 4 at a time, each gone when its CLI returns', async () => {
    const one = (i: number) => new Promise<void>((resolve, reject) => {
      const name = t.uniq('par');
      const c = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, ...run('--rm', '--name', name, 'sh', '-c', `exit ${i % 7}`)], { stdio: 'ignore' });
      c.once('close', (status) => {
        try {
          assert.equal(status, i % 7, `run ${i}`);
          assert.equal(row(name), undefined, `run ${i}: still in the store after run --rm returned`);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
    for (let i = 0; i < 24; i += 4) await Promise.all([one(i), one(i + 1), one(i + 2), one(i + 3)]);
    assert.deepEqual(entries(join(t.stateRoot, 'containers')), []);
  });

  test('run --rm that fails to start: 125, 126, 127 and nothing left', () => {
    const cases: [string[], number][] = [
      [['--memory', 'bogus', 'true'], 125],
      [['/notexec'], 126],
      [['/etc'], 126],
      [['no-such-command'], 127],
    ];
    for (const [args, code] of cases) {
      const name = t.uniq('bad');
      const r = t.run(run('--rm', '--name', name, ...args));
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(row(name), undefined, `${args.join(' ')}: left in the store`);
    }
    assert.deepEqual(entries(join(t.stateRoot, 'containers')), []);
  });

  test('start -a of a created --rm container removes it before returning', () => {
    const name = t.uniq('sa');
    const c = t.run(['create', '--rootfs', rootfs, '--network', 'none', '--rm', '--name', name, 'sh', '-c', 'exit 6']);
    ok(c);
    const id = c.stdout.trim();
    assert.equal(t.run(['start', '-a', name]).status, 6);
    assert.equal(row(name), undefined, 'still in the store after start -a returned');
    assert.deepEqual(leftovers(id), []);
  });

  test('run -d --rm: removed by the monitor when it exits on its own; wait returns its status', async () => {
    const a = t.uniq('d');
    const d = t.run(run('-d', '--rm', '--name', a, 'sh', '-c', 'sleep 1; exit 3'));
    ok(d);
    const id = d.stdout.trim();
    // nobody runs a berth command: only the monitor's exit command can remove it
    assert.ok(await gone(a), 'a detached --rm container was not removed after it exited');
    // the exit command deletes the row (its claim on the removal) before the files, and SQLite may
    // checkpoint its log in that commit: no berth command waits for it here, so the test does
    assert.deepEqual(await settled(() => leftovers(id)), []);
    const b = t.uniq('dw');
    // long enough for the `wait` CLI to start under load: a --rm container already gone has no status to wait for (as docker's)
    const e = t.run(run('-d', '--rm', '--name', b, 'sh', '-c', 'sleep 5; exit 4'));
    ok(e);
    assert.equal(t.run(['wait', b]).stdout, '4\n');
    assert.equal(row(b), undefined, 'still in the store after wait returned');
    assert.deepEqual(leftovers(e.stdout.trim()), []);
  });

  test('a monitor winding down is not "restarting": wait answers once the --rm container is gone', async () => {
    const name = t.uniq('drain');
    const d = t.run(run('-d', '--rm', '--name', name, 'sh', '-c', 'sleep 1; exit 3'));
    ok(d);
    const pid = Number(t.run(['inspect', '-f', '{{.State.Pid}}', name]).stdout);
    assert.ok(pid > 0);
    // hold the container's stdout open: the monitor drains it (up to 2 s) after the init exits
    const fd = openSync(`/proc/${pid}/fd/1`, 'w');
    try {
      for (let i = 0; i < 600 && existsSync(`/proc/${pid}`); i++) await sleep(10);
      assert.ok(!existsSync(`/proc/${pid}`), 'the init did not exit');
      assert.equal(t.run(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.State}}']).stdout, 'running\n', 'a container with no restart policy shown as restarting');
      const w = t.run(['wait', name]);
      assert.equal(w.stdout, '3\n', w.stderr);
      assert.equal(row(name), undefined, 'still in the store after wait returned');
      assert.deepEqual(leftovers(d.stdout.trim()), []);
    } finally {
      closeSync(fd);
    }
  });

  test('stop of a --rm container removes it before returning', () => {
    const name = t.uniq('st');
    const d = t.run(run('-d', '--rm', '--name', name, 'sleep', '60'));
    ok(d);
    ok(t.run(['stop', '-t', '1', name]));
    assert.equal(row(name), undefined, 'still in the store after stop returned');
    assert.deepEqual(leftovers(d.stdout.trim()), []);
  });

  test('kill -9 of the CLI mid-run: the monitor removes the container when it ends; with the monitor killed too, the next command does', async () => {
    const base = [BERTH, '--root', t.root, '--state-root', t.stateRoot];
    const startFg = async (name: string, cmd: string) => {
      const c = spawn(BERTH, [...base.slice(1), ...run('--rm', '--name', name, 'sh', '-c', cmd)], { stdio: 'ignore' });
      for (let i = 0; i < 600 && row(name)?.state !== 'running'; i++) await sleep(50);
      assert.equal(row(name)?.state, 'running');
      c.kill('SIGKILL');
      await new Promise((r) => c.once('close', r));
    };
    const a = t.uniq('k9');
    await startFg(a, 'sleep 2');
    const id = row(a)!.id;
    assert.match(t.run(['ps', '--filter', `name=${a}`, '--format', '{{.Status}}']).stdout, /^Up /, 'the container outlives its CLI');
    assert.ok(await gone(a), 'not removed after it exited');
    assert.deepEqual(leftovers(id), []);

    // a crash: CLI and monitor killed, the container's processes with them
    const b = t.uniq('k9m');
    await startFg(b, 'sleep 60');
    const rb = row(b)!;
    const pid = Number(t.run(['inspect', '-f', '{{.State.Pid}}', b]).stdout);
    assert.ok(pid > 0);
    for (const p of entries('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (cmd.includes(`monitor\0`) && cmd.includes(rb.id)) process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    assert.ok(row(b), 'nothing removes it before a berth command reconciles');
    assert.equal(t.run(['ps', '-a', '-q', '--filter', `name=${b}`]).stdout, '');
    assert.equal(row(b), undefined, 'the reconciling command did not remove it');
    assert.deepEqual(leftovers(rb.id), []);
  });

  test('library: Berth.run({autoRemove}) returns once the container is gone', async () => {
    const lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
    try {
      for (let i = 0; i < 5; i++) {
        const name = t.uniq('lib');
        const r = await lib.run({ rootfs, name, network: 'none', cmd: ['sh', '-c', `exit ${i}`], autoRemove: true });
        assert.equal(r.exitCode, i);
        assert.equal(row(name), undefined, `run ${i}: still in the store`);
        assert.deepEqual(leftovers(r.id), []);
      }
    } finally {
      lib.close();
    }
  });
});

