// `berth run` / `create` / `exec` open the store without reconciling every live container
// (Command.lazyReconcile) and `run` starts its monitor ahead, as a standby (engine/monitor.ts
// prestartMonitor): what a new container meets is refreshed where it is met, and a standby that
// gets no container does not outlive the CLI.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('runlazy');

/** Polls fn until it returns true; false after ms (generous: the machine is shared). */
async function until(fn: () => boolean, ms = 10000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Standby monitors (`berth-shim monitor --standby`) started by a CLI run with BERTH_TEST_TAG=tag. */
function standbysTagged(tag: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (!cmd.includes('monitor\0--standby')) continue;
      if (readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`BERTH_TEST_TAG=${tag}`)) found.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return found;
}

function runTagged(tag: string, args: string[]) {
  return spawnSync(BERTH, ['--root', t.root, '--state-root', t.stateRoot, ...args], {
    encoding: 'utf8', timeout: 60000, env: { ...process.env, BERTH_TEST_TAG: tag },
  });
}

describe('run without a reconcile of every container', () => {
  test('the name of an exited --rm container that nothing reconciled is free for the next run', async () => {
    const name = t.uniq('lazy');
    const first = t.run(['run', '-d', '--rm', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']);
    ok(first, 'run -d --rm');
    const id = first.stdout.trim();
    // its monitor killed: no exit command runs, only a reconcile can see that it is down
    const pidFile = join(t.stateRoot, 'containers', id, 'pid');
    assert.ok(await until(() => existsSync(pidFile)), 'the monitor wrote its pid file');
    const monitor = Number(readFileSync(pidFile, 'utf8').trim().split(' ')[2]);
    assert.ok(monitor > 0, `monitor pid in ${pidFile}`);
    process.kill(monitor, 'SIGKILL');
    assert.ok(await until(() => !existsSync(`/proc/${monitor}`) || /^[^)]*\) Z/.test(readFileSync(`/proc/${monitor}/stat`, 'utf8'))), 'monitor gone');
    // the very next command is the run that wants the name
    const second = t.run(['run', '-d', '--rm', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']);
    ok(second, 'run -d --rm with the same name');
    assert.notEqual(second.stdout.trim(), id);
    const all = t.run(['ps', '-a', '--no-trunc', '-q']).stdout.split('\n').filter(Boolean);
    assert.ok(!all.includes(id), 'the first container was removed (--rm) when its name was met');
    assert.ok(all.includes(second.stdout.trim()));
    ok(t.run(['rm', '-f', name]), 'rm');
  });

  test('a name held by a running container is still a conflict (125)', () => {
    const name = t.uniq('held');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']), 'run -d');
    const r = t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'true']);
    assert.equal(r.status, 125, r.stderr);
    assert.match(r.stderr, /Conflict\. The container name "\/[^"]+" is already in use/);
    ok(t.run(['rm', '-f', name]), 'rm');
  });
});

describe('the monitor started ahead by run', () => {
  test('a run whose create fails leaves no standby monitor behind', async () => {
    const name = t.uniq('sb');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']), 'run -d');
    const tag = t.uniq('tag');
    const conflict = runTagged(tag, ['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'true']);
    assert.equal(conflict.status, 125, conflict.stderr);
    const missing = runTagged(tag, ['run', '--rm', '--network', 'none', '--rootfs', join(t.dir, 'no-such-dir'), 'true']);
    assert.equal(missing.status, 125, missing.stderr);
    assert.ok(await until(() => standbysTagged(tag).length === 0), `standby monitors left: ${standbysTagged(tag).join(' ')}`);
    ok(t.run(['rm', '-f', name]), 'rm');
  });

  test('run -d and run --rm through the standby: output, status and the monitor that stays', async () => {
    const tag = t.uniq('tag');
    const fg = runTagged(tag, ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(fg.status, 3, fg.stderr);
    assert.equal(fg.stdout, 'out\n');
    assert.equal(fg.stderr, 'err\n');
    const d = runTagged(tag, ['run', '-d', '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']);
    assert.equal(d.status, 0, d.stderr);
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const st = t.run(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id]);
    ok(st, 'inspect');
    assert.match(st.stdout, /^running [1-9]\d*\n$/);
    // the standby became the container's monitor: none is left waiting
    assert.ok(await until(() => standbysTagged(tag).length === 0), `standby monitors left: ${standbysTagged(tag).join(' ')}`);
    ok(t.run(['rm', '-f', id]), 'rm');
  });
});
