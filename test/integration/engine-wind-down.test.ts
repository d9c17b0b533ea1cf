// `rm` (without -f), `start` and `attach` of a container whose process has exited while its
// monitor is still winding down (reaping it, writing `exit`, forking the exit command) act on how
// the container ends, as docker's do: rm removes it, start runs it again, attach says it is
// stopped -- none calls it running (issue 6, src/engine/wind-down.ts). Made deterministic by
// holding the monitor (SIGSTOP) with its init killed and unreaped, then letting it go while the
// verb waits; and in loops with no hold at all, where the window is a millisecond or two.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ok, testBerthWithLibrary } from '../helpers/berth-cli.js';
import { sleep, startCli, until } from '../helpers/cli-procs.js';
import { EngineError } from '../../src/engine/errors.js';

const tb = testBerthWithLibrary('winddown');
const { t, rootfs } = tb;

const statOf = (pid: number): string => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
};
/** "<init> <restarts> <monitor>" of the container's state directory. */
const pidsOf = (id: string) => {
  const [init, , monitor] = readFileSync(join(t.stateRoot, 'containers', id, 'pid'), 'utf8').trim().split(' ').map(Number);
  return { init: init!, monitor: monitor! };
};
const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
};
const fullId = (ref: string) => t.run(['inspect', '-f', '{{.Id}}', ref]).stdout.trim();

/**
 * Puts a running container (its command `sleep`) in the middle of winding down and keeps it
 * there: its monitor stopped, its init killed and left a zombie. Returns the release.
 */
async function holdWindingDown(id: string): Promise<() => void> {
  const { init, monitor } = await until('the init and the monitor', () => existsSync(join(t.stateRoot, 'containers', id, 'pid')) && pidsOf(id).init > 0 && pidsOf(id));
  // argv[0], not the whole command line: `sh -c '...; exec sleep 60'` has "sleep" in its script
  // before it has done what comes first (a kill then left the marker of onceThenSeven unmade)
  await until('the container to run sleep', () => /(^|\/)sleep$/.test(readFileSync(`/proc/${init}/cmdline`, 'utf8').split('\0')[0]!));
  signal(monitor, 'SIGSTOP');
  const release = () => signal(monitor, 'SIGCONT');
  try {
    await until('the monitor to stop', () => statOf(monitor) === 'T');
    signal(init, 'SIGKILL');
    await until('the init to be a zombie (exited, not reaped by its held monitor)', () => statOf(init) === 'Z');
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

/** Runs a command in a fresh container's own marker: the first run sleeps, every later one prints "again" and exits 7. */
const onceThenSeven = (marker: string) => ['sh', '-c', `if [ -e /tmp/${marker} ]; then echo again; exit 7; fi; touch /tmp/${marker}; exec sleep 60`];

describe('CLI: a container winding down is not running', () => {
  test('rm (no -f) waits for it and removes it', async () => {
    const name = t.uniq('wd-rm');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sleep', '60']), 'run -d');
    const release = await holdWindingDown(fullId(name));
    try {
      const rm = startCli(t, ['rm', name]);
      // (generous: the CLI starts and finds the container well within this on a loaded machine)
      await sleep(1500);
      if (rm.child.exitCode !== null) assert.fail(`rm returned while the monitor was winding down: ${JSON.stringify(await rm.done)}`);
      release();
      const r = await rm.done;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), name);
      assert.equal(t.run(['ps', '-aq', '--filter', `name=${name}`]).stdout.trim(), '', 'removed');
    } finally {
      release();
    }
  });

  test('start -a waits for it and runs it again', async () => {
    const name = t.uniq('wd-start');
    const marker = t.uniq('m');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, ...onceThenSeven(marker)]), 'run -d');
    const release = await holdWindingDown(fullId(name));
    try {
      const start = startCli(t, ['start', '-a', name]);
      await sleep(1500);
      if (start.child.exitCode !== null) assert.fail(`start -a returned while the monitor was winding down: ${JSON.stringify(await start.done)}`);
      release();
      const r = await start.done;
      assert.equal(r.status, 7, r.stderr);
      assert.equal(r.stdout, 'again\n');
    } finally {
      release();
      rmSync(join(rootfs, 'tmp', marker), { force: true });
    }
    ok(t.run(['rm', name]), 'rm');
  });

  test('attach waits for it and says it is stopped', async () => {
    const name = t.uniq('wd-attach');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sleep', '60']), 'run -d');
    const release = await holdWindingDown(fullId(name));
    try {
      const attach = startCli(t, ['attach', name]);
      await sleep(1500);
      if (attach.child.exitCode !== null) assert.fail(`attach returned while the monitor was winding down: ${JSON.stringify(await attach.done)}`);
      release();
      const r = await attach.done;
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /You cannot attach to a stopped container, start it first/);
    } finally {
      release();
    }
    assert.equal(t.run(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout.trim(), 'exited 137');
    ok(t.run(['rm', name]), 'rm');
  });

  test('a container really running is still refused by rm', () => {
    const name = t.uniq('wd-live');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sleep', '60']), 'run -d');
    const r = t.run(['rm', name]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot remove container "\/.*": container is running: stop the container before removing or force remove/);
    ok(t.run(['rm', '-f', name]), 'rm -f');
  });

  test('in a loop: run -d true, then rm / start -a as soon as true has exited (20 each)', async () => {
    for (let i = 0; i < 20; i++) {
      const a = t.uniq('wd-loop-rm');
      ok(t.run(['run', '-d', '--name', a, '--rootfs', rootfs, 'true']), 'run -d');
      await untilExited(Number(t.run(['inspect', '-f', '{{.State.Pid}}', a]).stdout.trim()));
      ok(t.run(['rm', a]), `rm at once (${i})`);
      const b = t.uniq('wd-loop-start');
      ok(t.run(['run', '-d', '--name', b, '--rootfs', rootfs, 'true']), 'run -d');
      await untilExited(Number(t.run(['inspect', '-f', '{{.State.Pid}}', b]).stdout.trim()));
      // (the last run's exit command may be cleaning up meanwhile: start waits for it)
      ok(t.run(['start', '-a', b]), `start -a at once (${i})`);
      ok(t.run(['rm', b]), 'rm');
    }
  });
});

/** Until the process (a container's init) has exited: a zombie or gone; 0 (none recorded) has. Polled finely: the verb follows at once. */
async function untilExited(pid: number): Promise<void> {
  const exited = () => !(pid > 0) || statOf(pid) === 'Z' || statOf(pid) === 'gone';
  for (const end = Date.now() + 20000; !exited(); await sleep(1)) if (Date.now() > end) assert.fail(`timed out waiting for process ${pid} to exit`);
}

describe('library: a container winding down is not running', () => {
  const settled = (p: Promise<unknown>) => {
    let done = false;
    p.then(() => (done = true), () => (done = true));
    return () => done;
  };

  test('remove waits for it and removes it', async () => {
    const { id } = await tb.lib.create({ rootfs, network: 'none', cmd: ['sleep', '60'] });
    await tb.lib.start(id);
    const release = await holdWindingDown(id);
    try {
      const p = tb.lib.remove(id);
      const done = settled(p);
      await sleep(300);
      assert.equal(done(), false, 'remove settled while the monitor was winding down');
      release();
      await p;
      assert.equal(tb.lib.list({ all: true }).some((c) => c.ID === id), false, 'removed');
    } finally {
      release();
    }
  });

  test('start with attach waits for it and runs it again', async () => {
    const marker = t.uniq('m');
    const { id } = await tb.lib.create({ rootfs, network: 'none', cmd: onceThenSeven(marker) });
    await tb.lib.start(id);
    const release = await holdWindingDown(id);
    try {
      const p = tb.lib.start(id, { attach: true });
      const done = settled(p);
      await sleep(300);
      assert.equal(done(), false, 'start settled while the monitor was winding down');
      release();
      const r = await p;
      assert.equal(r.exitCode, 7, `the second run's result: ${JSON.stringify(r)}; inspect: ${t.run(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}', id]).stdout}`);
      assert.equal(r.stdout, 'again\n');
    } finally {
      release();
      rmSync(join(rootfs, 'tmp', marker), { force: true });
    }
    await tb.lib.remove(id);
  });

  test('attach waits for it and says it is stopped', async () => {
    const { id } = await tb.lib.create({ rootfs, network: 'none', cmd: ['sleep', '60'] });
    await tb.lib.start(id);
    const release = await holdWindingDown(id);
    try {
      const p = tb.lib.attach(id);
      const done = settled(p);
      await sleep(300);
      assert.equal(done(), false, 'attach settled while the monitor was winding down');
      release();
      await assert.rejects(p, (e: unknown) => e instanceof EngineError && e.kind === 'conflict' && /You cannot attach to a stopped container/.test(e.message));
    } finally {
      release();
    }
    await tb.lib.remove(id);
  });

  test('in a loop: once the process has exited, remove (no force) never calls it running (30)', async () => {
    for (let i = 0; i < 30; i++) {
      const { id } = await tb.lib.create({ rootfs, network: 'none', cmd: ['true'] });
      await tb.lib.start(id);
      // the process has exited (a zombie or reaped); the monitor may still be winding down
      await untilExited(Number((tb.lib.inspect(id).State as { Pid: number }).Pid));
      await tb.lib.remove(id);
    }
  });
});
