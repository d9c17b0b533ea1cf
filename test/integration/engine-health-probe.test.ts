// Health probes (root): at its timeout everything a probe started is killed -- a child that
// escaped to the container's init and children forked while it was being killed included --
// and no probe cgroup is left; a paused container runs no probe and records no failure (docker
// stops its health monitor while paused), a probe caught by a pause is not recorded, and
// probing resumes after unpause. Through the CLI and the library.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BERTH, ok, testBerthWithLibrary } from '../helpers/berth-cli.js';

const L = testBerthWithLibrary('hprobe');
const { t, rootfs } = L;

interface Health { Status: string; FailingStreak: number; Log: { Start: string; ExitCode: number; Output: string }[] }
const health = (name: string) => JSON.parse(t.run(['inspect', '-f', '{{json .State.Health}}', name]).stdout) as Health;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idOf = (name: string) => t.run(['inspect', '-f', '{{.Id}}', name]).stdout.trim();

/** Probe cgroups left below the container's cgroup, in any hierarchy. */
function probeCgroups(id: string): string[] {
  const out: string[] = [];
  for (const base of ['/sys/fs/cgroup/unified/berth', '/sys/fs/cgroup/freezer/berth', '/sys/fs/cgroup/berth']) {
    const d = join(base, id);
    if (existsSync(d)) out.push(...readdirSync(d).filter((n) => n.startsWith('berth-probe-')).map((n) => join(d, n)));
  }
  return out;
}

/** The container's processes whose command line has `word` (berth top: its cgroup, probes included). */
const procsWith = (name: string, word: string) => t.run(['top', name]).stdout.split('\n').filter((l) => l.includes(word));

async function until(what: string, cond: () => boolean, seconds = 40): Promise<void> {
  for (let i = 0; i < seconds * 5; i++) {
    if (cond()) return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Now, in the clock ticks of /proc/PID/stat's start times (USER_HZ: 100). */
const ticksNow = () => Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
/** When a process was forked, in ticks since boot (field 22 of /proc/PID/stat). */
const forkedAt = (pid: string) => {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[19]);
};

/**
 * How many `berth healthcheck run ID` processes forked after the tick `after` are seen within ms
 * (every process is looked at each 5 ms: a probe is a node process living far longer). A probe
 * forked before a pause may still be starting after it: `after` leaves it out.
 */
async function probeLaunches(id: string, ms: number, after = 0): Promise<number> {
  const seen = new Set<string>();
  const probes = new Set<string>();
  const marker = `healthcheck\0run\0${id}`;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) {
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p) || seen.has(p)) continue;
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        // a monitor's child not exec'd yet still has the monitor's command line: look again
        if (!cmd || cmd.includes('berth-shim')) continue;
        seen.add(p);
        if (cmd.includes(marker) && forkedAt(p) > after) probes.add(p);
      } catch {
        /* gone */
      }
    }
  }
  return probes.size;
}

describe('health probes', () => {
  test('a timed-out probe is killed with everything it forked, escaped children included', async () => {
    const name = t.uniq('tree');
    const n1 = 40000 + Math.floor(Math.random() * 9999);
    const n2 = n1 + 10000;
    // (sleep &) in a subshell: re-parented to the container's init at once, out of the probe's
    // process tree; the loop forks new children until the very end
    const cmd = `(sleep ${n1} &); while :; do sleep ${n2} & sleep 0.05; done`;
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', cmd, '--health-timeout', '1s', '--health-interval', '1h', 'sleep', '300']));
    const id = idOf(name);
    const r = t.run(['healthcheck', 'run', name]);
    assert.equal(r.status, 1, r.stderr);
    const h = health(name);
    assert.equal(h.Log.length, 1);
    assert.equal(h.Log[0]!.ExitCode, -1);
    assert.match(h.Log[0]!.Output, /^Health check exceeded timeout \(1s\)/);
    await until('the probe processes to go', () => procsWith(name, `sleep ${n1}`).length + procsWith(name, `sleep ${n2}`).length === 0, 15);
    assert.deepEqual(probeCgroups(id), [], 'a probe cgroup was left behind');
    // the container itself is untouched
    assert.equal(procsWith(name, 'sleep 300').length, 1);
    ok(t.run(['rm', '-f', name]));
  });

  test('a probe that ends leaves no background process and no cgroup', () => {
    const name = t.uniq('bg');
    const n = 50000 + Math.floor(Math.random() * 9999);
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', `sleep ${n} & true`, '--health-interval', '1h', 'sleep', '300']));
    assert.equal(t.run(['healthcheck', 'run', name]).status, 0);
    assert.equal(health(name).Status, 'healthy');
    assert.deepEqual(procsWith(name, `sleep ${n}`), []);
    assert.deepEqual(probeCgroups(idOf(name)), []);
    ok(t.run(['rm', '-f', name]));
  });

  test('paused: the monitor starts no probe process at all, and starts them again after unpause (CLI and library)', async () => {
    const name = t.uniq('noprobe');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', 'true', '--health-interval', '150ms', 'sleep', '300']));
    const id = idOf(name);
    // running: the scan sees the monitor's probes (`berth healthcheck run ID`), so it can see them
    assert.ok((await probeLaunches(id, 2000)) >= 2, 'probes seen while running');
    ok(t.run(['pause', name]));
    let paused = ticksNow();
    assert.equal(await probeLaunches(id, 2000, paused), 0, 'a probe process was started while paused (CLI pause)');
    L.lib.unpause(name);
    const last = health(name).Log.at(-1)!.Start;
    await until('a probe after unpause', () => health(name).Log.at(-1)!.Start > last);
    assert.equal(health(name).Status, 'healthy');
    L.lib.pause(name);
    paused = ticksNow();
    assert.equal(await probeLaunches(id, 2000, paused), 0, 'a probe process was started while paused (library pause)');
    ok(t.run(['unpause', name]));
    assert.ok((await probeLaunches(id, 2000)) >= 1, 'probes again after unpause');
    ok(t.run(['rm', '-f', name]));
  });

  test('paused: no probe and no failure; a probe caught by the pause is dropped; probing resumes on unpause', async () => {
    const name = t.uniq('pause');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', 'true', '--health-interval', '300ms', 'sleep', '300']));
    await until('healthy', () => health(name).Status === 'healthy');
    ok(t.run(['pause', name]));
    const frozen = JSON.stringify(health(name));
    await sleep(2500); // ~8 intervals of the monitor
    assert.equal(JSON.stringify(health(name)), frozen, 'probes ran (or failed) while the container was paused');
    const byHand = t.run(['healthcheck', 'run', name]);
    assert.equal(byHand.status, 125);
    assert.match(byHand.stderr, /is paused/);
    assert.equal(JSON.stringify(health(name)), frozen);
    ok(t.run(['unpause', name]));
    const last = health(name).Log.at(-1)!.Start;
    await until('a probe after unpause', () => health(name).Log.at(-1)!.Start > last);
    assert.equal(health(name).Status, 'healthy');
    assert.equal(health(name).FailingStreak, 0);
    ok(t.run(['rm', '-f', name]));

    // a probe in flight when the container is paused: frozen with it, not recorded
    const slow = t.uniq('inflight');
    const n = 60000 + Math.floor(Math.random() * 9999);
    ok(t.run(['run', '-d', '--name', slow, '--rootfs', rootfs, '--health-cmd', `sleep 3.${n}`, '--health-timeout', '6s', '--health-interval', '1h', 'sleep', '300']));
    const probe = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'healthcheck', 'run', slow], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    probe.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => probe.on('exit', res));
    await until('the probe to start', () => procsWith(slow, `sleep 3.${n}`).length > 0, 20);
    ok(t.run(['pause', slow]));
    const status = await exited;
    assert.equal(status, 125, err);
    assert.match(err, /paused during its health check/);
    assert.deepEqual(health(slow).Log, [], 'a probe frozen by the pause was recorded');
    assert.equal(health(slow).FailingStreak, 0);
    ok(t.run(['unpause', slow]));
    await until('the dropped probe to be gone', () => procsWith(slow, `sleep 3.${n}`).length === 0, 15);
    await until('its cgroup to be gone', () => probeCgroups(idOf(slow)).length === 0, 15);
    ok(t.run(['rm', '-f', slow]));
  });

  test('a probe whose CLI was killed -9 is cleaned up by the next probe', async () => {
    const name = t.uniq('k9');
    const n = 70000 + Math.floor(Math.random() * 9999);
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', `if [ -e /tmp/slow ]; then sleep 7.${n}; fi`, '--health-timeout', '60s', '--health-interval', '1h', 'sleep', '300']));
    ok(t.run(['exec', name, 'touch', '/tmp/slow']));
    const probe = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'healthcheck', 'run', name], { stdio: 'ignore' });
    const exited = new Promise((res) => probe.on('exit', res));
    await until('the probe to start', () => procsWith(name, `sleep 7.${n}`).length > 0, 20);
    probe.kill('SIGKILL');
    await exited;
    const id = idOf(name);
    assert.equal(probeCgroups(id).length, 1, 'the killed probe left its cgroup (the case to clean up)');
    ok(t.run(['exec', name, 'rm', '/tmp/slow']));
    assert.equal(t.run(['healthcheck', 'run', name]).status, 0);
    await until('the orphaned probe to be gone', () => procsWith(name, `sleep 7.${n}`).length === 0 && probeCgroups(id).length === 0, 15);
    ok(t.run(['rm', '-f', name]));
  });

  test('library: healthcheck() of a paused container is refused and records nothing', async () => {
    const { id } = await L.lib.run({ rootfs, cmd: ['sleep', '300'], detach: true, healthCmd: ['false'], healthInterval: 3600_000 });
    try {
      L.lib.pause(id);
      await assert.rejects(L.lib.healthcheck(id), /is paused/);
      L.lib.unpause(id);
      const r = await L.lib.healthcheck(id);
      assert.equal(r.healthy, false);
      assert.equal(r.state.FailingStreak, 1);
      assert.equal(r.state.Log.length, 1);
    } finally {
      await L.lib.remove(id, { force: true });
    }
  });
});
