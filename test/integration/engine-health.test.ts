// Health checks (root): the monitor runs `berth healthcheck run` on the interval; State.Health,
// ps STATUS and --filter health=, health_status events, timeouts, the start period,
// --no-healthcheck, and the library.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ok, testBerthWithLibrary } from '../helpers/berth-cli.js';

const L = testBerthWithLibrary('health');
const { t, rootfs } = L;

const health = (name: string) => JSON.parse(t.run(['inspect', '-f', '{{json .State.Health}}', name]).stdout) as { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };

/** Polls (generously: the machine is loaded) until the container's health is `want`. */
async function until(name: string, want: string, seconds = 40): Promise<void> {
  for (let i = 0; i < seconds * 4; i++) {
    if (health(name).Status === want) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${name} never became ${want}: ${JSON.stringify(health(name))}`);
}

describe('health checks', () => {
  test('the monitor runs the check: starting, unhealthy, healthy; ps, filters and events', async () => {
    const name = t.uniq('hc');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, '--health-cmd', 'test -f /tmp/ok', '--health-interval', '300ms', '--health-retries', '2', 'sleep', '300']));
    assert.match(t.run(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /^Up .*\((health: starting|unhealthy)\)/);
    await until(name, 'unhealthy');
    const h = health(name);
    assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
    assert.ok(h.Log.length >= 2 && h.Log.length <= 5, `log keeps the last 5: ${h.Log.length}`);
    assert.equal(h.Log.at(-1)!.ExitCode, 1);
    assert.match(t.run(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /\(unhealthy\)/);
    assert.equal(t.run(['ps', '-q', '--filter', 'health=unhealthy', '--filter', `name=${name}`]).stdout.trim().length, 12);
    ok(t.run(['exec', name, 'touch', '/tmp/ok']));
    await until(name, 'healthy');
    assert.equal(health(name).FailingStreak, 0);
    assert.match(t.run(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /\(healthy\)/);
    assert.equal(t.run(['ps', '-q', '--filter', 'health=unhealthy', '--filter', `name=${name}`]).stdout, '');
    assert.equal(t.run(['ps', '-q', '--filter', 'health=healthy', '--filter', `name=${name}`]).stdout.trim().length, 12);
    const ev = t.run(['events', '--since', '120s', '--until', '0s', '--filter', `container=${name}`]).stdout;
    assert.match(ev, /container health_status: unhealthy /);
    assert.match(ev, /container health_status: healthy /);
    // one probe by hand: 0 healthy, 1 failed
    assert.equal(t.run(['healthcheck', 'run', name]).status, 0);
    ok(t.run(['exec', name, 'rm', '/tmp/ok']));
    assert.equal(t.run(['healthcheck', 'run', name]).status, 1);
    ok(t.run(['rm', '-f', name]));
  });

  test('output, timeouts, the start period, --no-healthcheck, a stopped container', () => {
    const out = t.uniq('out');
    ok(t.run(['run', '-d', '--name', out, '--rootfs', rootfs, '--health-cmd', 'echo checked; exit 3', '--health-interval', '1h', 'sleep', '300']));
    assert.equal(t.run(['healthcheck', 'run', out]).status, 1);
    assert.deepEqual(health(out).Log.map((l) => [l.ExitCode, l.Output]), [[3, 'checked\n']]);

    const slow = t.uniq('slow');
    ok(t.run(['run', '-d', '--name', slow, '--rootfs', rootfs, '--health-cmd', 'sleep 29', '--health-timeout', '300ms', '--health-interval', '1h', 'sleep', '300']));
    const t0 = Date.now();
    assert.equal(t.run(['healthcheck', 'run', slow]).status, 1);
    assert.ok(Date.now() - t0 < 20000, 'the probe was not cut at its timeout');
    assert.deepEqual(health(slow).Log.map((l) => [l.ExitCode, l.Output]), [[-1, 'Health check exceeded timeout (0.3s)']]);
    assert.equal(t.run(['exec', slow, 'sh', '-c', 'ps | grep -c "[s]leep 29" || true']).stdout.trim(), '0', 'the timed-out probe is still running');

    const grace = t.uniq('grace');
    ok(t.run(['run', '-d', '--name', grace, '--rootfs', rootfs, '--health-cmd', 'false', '--health-start-period', '1h', '--health-interval', '1h', 'sleep', '300']));
    assert.equal(t.run(['healthcheck', 'run', grace]).status, 1);
    assert.equal(health(grace).Status, 'starting');
    assert.equal(health(grace).FailingStreak, 0);

    const none = t.uniq('none');
    ok(t.run(['run', '-d', '--name', none, '--rootfs', rootfs, '--no-healthcheck', 'sleep', '300']));
    assert.equal(JSON.parse(t.run(['inspect', none]).stdout)[0].State.Health, undefined);
    const r = t.run(['healthcheck', 'run', none]);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /has no health check/);
    const bad = t.run(['run', '-d', '--rootfs', rootfs, '--health-interval', 'soon', 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /--health-interval/);

    ok(t.run(['stop', '-t', '1', out]));
    const stopped = t.run(['healthcheck', 'run', out]);
    assert.equal(stopped.status, 125);
    assert.match(stopped.stderr, /is not running/);
    ok(t.run(['rm', '-f', out, slow, grace, none]));
  });

  test('library: healthCmd, healthcheck(), inspect and list', async () => {
    const { id } = await L.lib.run({ rootfs, cmd: ['sleep', '300'], detach: true, healthCmd: ['true'], healthInterval: 3600_000 });
    try {
      assert.equal((L.lib.inspect(id).State as { Health: { Status: string } }).Health.Status, 'starting');
      const r = await L.lib.healthcheck(id);
      assert.equal(r.healthy, true);
      assert.equal(r.state.Status, 'healthy');
      assert.equal((L.lib.inspect(id).State as { Health: { Status: string } }).Health.Status, 'healthy');
      assert.ok(L.lib.list({ filters: { health: ['healthy'] } }).some((c) => String(c.ID) === id));
      assert.match(String(L.lib.list({ filters: { id: [id] } })[0]!.Status), /\(healthy\)/);
    } finally {
      await L.lib.remove(id, { force: true });
    }
  });
});
