// `rm -f` returns only when nothing of the container is left (issue 6/7): no process of it (its
// monitor, the exit command the monitor ran, a health probe, the init), no cgroup, no mount (root
// file system, netns), no row -- also when the container had exited by itself and its monitor's
// exit command (`berth system cleanup ID`) was still at work when rm started; bounded when that
// command is stuck (rm goes on after a few seconds and says so). In loops, so that a race shows.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { leaks, sleep, until } from '../helpers/cli-procs.js';

const { t, rootfs } = testBerthWithRootfs('rmleft');

/** Processes whose command line has these arguments in a row (NUL-separated). */
function procsWith(...args: string[]): number[] {
  const needle = args.join('\0');
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle) && !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${p}/stat`, 'utf8'))) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}
const gone = (pid: number) => !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
/** The monitor's pid, from the state directory's pid file ("<init> <restarts> <monitor>"). */
const monitorOf = (stateRoot: string, id: string) => Number(readFileSync(join(stateRoot, 'containers', id, 'pid'), 'utf8').trim().split(' ')[2]);

describe('rm -f leaves nothing of the container', () => {
  test('CLI: exited by itself (its exit command at work), running, stopped: after rm nothing is left', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      // exited by itself: the monitor runs `berth system cleanup ID`; rm -f as soon as the monitor is gone
      const done = t.run(['run', '-d', '--rootfs', rootfs, 'true']);
      ok(done, 'run -d true');
      const a = done.stdout.trim();
      ids.push(a);
      const mon = await until('the monitor of the exited container to go', () => existsSync(join(t.stateRoot, 'containers', a, 'pid')) && monitorOf(t.stateRoot, a), 20000);
      await until('the monitor to go', () => gone(mon), 20000);
      ok(t.run(['rm', '-f', a]), 'rm -f of an exited container');
      assert.deepEqual(leaks([a]), [], `after rm -f of ${a}`);
      assert.ok(!existsSync(join(t.stateRoot, 'containers', `${a}.procs`)), 'the record of leftovers is gone');

      // running: killed by rm -f
      const b = t.run(['run', '-d', '--rootfs', rootfs, 'sleep', '60']).stdout.trim();
      ids.push(b);
      ok(t.run(['rm', '-f', b]), 'rm -f of a running container');
      assert.deepEqual(leaks([b]), [], `after rm -f of ${b}`);

      // stop, then rm
      const c = t.run(['run', '-d', '--rootfs', rootfs, 'sleep', '60']).stdout.trim();
      ids.push(c);
      ok(t.run(['stop', '-t', '1', c]), 'stop');
      ok(t.run(['rm', c]), 'rm after stop');
      assert.deepEqual(leaks([c]), [], `after stop + rm of ${c}`);
    }
    assert.equal(t.run(['ps', '-aq']).stdout.trim(), '');
    assert.deepEqual(leaks(ids), []);
  });
});

describe('library: remove waits for the exit command', () => {
  const dir = join(t.dir, 'lib');
  const stateRoot = `${t.stateRoot}-lib`;
  const warnings: string[] = [];
  let slow: Berth;
  let stuck: Berth;
  const stray: number[] = [];
  // the engine's exit command, started late (a loaded machine) or never finishing (stuck)
  const cleanup = (root: string, id: string) => [BERTH, '--root', root, '--state-root', stateRoot, 'system', 'cleanup', id];
  before(() => {
    mkdirSync(dir, { recursive: true });
    slow = new Berth({ root: join(dir, 'slow'), stateRoot, warn: (m) => warnings.push(m), exitCommand: (id) => ['/bin/sh', '-c', 'sleep 0.7; exec "$@"', 'sh', ...cleanup(join(dir, 'slow'), id)] });
    stuck = new Berth({ root: join(dir, 'stuck'), stateRoot, warn: (m) => warnings.push(m), exitCommand: (id) => ['/bin/sh', '-c', 'while :; do sleep 0.1; done', 'sh', id] });
  });
  after(() => {
    for (const p of stray) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    slow.close();
    stuck.close();
    const left = existsSync(join(stateRoot, 'containers')) ? readdirSync(join(stateRoot, 'containers')) : [];
    rmSync(stateRoot, { recursive: true, force: true });
    assert.deepEqual(left, [], 'nothing left in the state root');
  });

  test('the monitor gone, its exit command still running: remove returns once it is gone too (3 in a row)', async () => {
    for (let i = 0; i < 3; i++) {
      const { id } = await slow.create({ rootfs, network: 'none', cmd: ['true'] });
      await slow.start(id);
      const mon = monitorOf(stateRoot, id);
      await until('the monitor to go', () => gone(mon), 20000);
      // (forked by the monitor before it went; exec'd a moment later)
      const exitCmd = await until('the exit command to run', () => procsWith('system', 'cleanup', id).length === 1 && procsWith('system', 'cleanup', id), 5000);
      assert.ok(!gone(exitCmd[0]!), 'the exit command runs when remove starts (else this test proves nothing)');
      await slow.remove(id, { force: true });
      assert.ok(gone(exitCmd[0]!), 'the exit command is gone when remove returns');
      assert.deepEqual(leaks([id]), [], `after remove of ${id}`);
      assert.ok(!existsSync(join(stateRoot, 'containers', `${id}.procs`)));
      assert.ok(!existsSync(join(stateRoot, 'containers', id)), 'no state directory');
    }
    assert.deepEqual(warnings, []);
  });

  test('a stuck exit command holds remove a few seconds at most, with a warning naming it', async () => {
    const { id } = await stuck.create({ rootfs, network: 'none', cmd: ['true'] });
    await stuck.start(id);
    const mon = monitorOf(stateRoot, id);
    await until('the monitor to go', () => gone(mon), 20000);
    const sh = await until('the stuck exit command to run', () => procsWith('sh', id).length === 1 && procsWith('sh', id), 5000);
    stray.push(...sh);
    const t0 = Date.now();
    await stuck.remove(id, { force: true });
    const took = Date.now() - t0;
    assert.ok(took >= 4000 && took < 20000, `remove took ${took} ms`);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`removing ${id.slice(0, 12)}: pid ${sh[0]} \\(sh -c .*still running after 5 s`));
    assert.equal(stuck.list({ all: true }).length, 0, 'the row is gone anyway');
    process.kill(sh[0]!, 'SIGKILL');
    await until('the stuck command to go', () => gone(sh[0]!), 5000);
    await sleep(150); // its last `sleep 0.1`
    assert.deepEqual(leaks([id]), []);
  });
});
