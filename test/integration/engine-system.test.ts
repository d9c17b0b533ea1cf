// `berth system info|df|prune|restore` and `berth info` (root), through the CLI and the library:
// counts that follow what runs, sizes of volumes and writable layers, prune's prompt and
// filters, and restart policies after a simulated reboot (monitors killed, /run wiped).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, release } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { ok, testBerth } from '../helpers/berth-cli.js';

const t = testBerth('system');
let lib: Berth;

before(() => {
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});

after(() => {
  lib.close();
  t.cleanup();
});

describe('berth system', () => {
  test('info: text, --format, json, and the library', () => {
    const name = t.uniq('info');
    ok(t.run(['run', '-d', '--name', name, 'host', 'sleep', '100']));
    const stopped = t.uniq('info-stopped');
    ok(t.run(['create', '--name', stopped, 'host', 'true']));
    const text = t.run(['info']);
    ok(text);
    assert.match(text.stdout, /Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n/);
    assert.match(text.stdout, /Storage Driver: \w+/);
    assert.match(text.stdout, /Cgroup Version: [12]\n/);
    assert.ok(text.stdout.includes(`Kernel Version: ${release()}\n`));
    assert.match(text.stdout, /Security Options:\n  seccomp\n   Profile: builtin\n/);
    assert.equal(t.run(['system', 'info', '--format', '{{.ContainersRunning}}/{{.Containers}}']).stdout, '1/2\n');
    const js = JSON.parse(t.run(['system', 'info', '--format', 'json']).stdout);
    assert.equal(js.NCPU, cpus().length);
    assert.equal(js.ContainersStopped, 1);
    assert.ok(js.MemTotal > 0);
    assert.equal(js.DockerRootDir, t.root);
    const li = lib.system.info();
    assert.equal(li.ContainersRunning, 1);
    assert.equal(li.Containers, 2);
    const bad = t.run(['info', '--format', '{{.Nope']);
    assert.equal(bad.status, 125);
    ok(t.run(['rm', '-f', name, stopped]));
  });

  test('df: volumes and writable layers, -v, json, the library', async () => {
    const vol = t.uniq('dfvol');
    const name = t.uniq('df');
    ok(t.run(['run', '--name', name, '-v', `${vol}:/data`, 'host', 'sh', '-c', 'head -c 1500000 /dev/zero > /data/f; head -c 2500000 /dev/zero > /opt/berth-df-test']));
    const rows = t.run(['system', 'df', '--format', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const byType = Object.fromEntries(rows.map((r) => [r.Type, r]));
    assert.deepEqual(Object.keys(byType), ['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    // berth has no builder: the row is docker's, its zeros are the truth (system.ts dfSummary)
    assert.deepEqual(byType['Build Cache'], { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' });
    assert.equal(byType['Local Volumes'].TotalCount, '1');
    assert.equal(byType['Local Volumes'].Active, '1');
    assert.equal(byType['Local Volumes'].Size, '1.5MB');
    assert.equal(byType.Containers.TotalCount, '1');
    assert.equal(byType.Containers.Active, '0');
    assert.match(byType.Containers.Size, /^2\.\d+MB$/);
    assert.equal(byType.Containers.Reclaimable, `${byType.Containers.Size} (100%)`); // docker's: a percentage when the total is not 0
    const table = t.run(['system', 'df']);
    ok(table);
    assert.match(table.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\n/);
    const v = t.run(['system', 'df', '-v']);
    ok(v);
    assert.match(v.stdout, new RegExp(`${vol}\\s+1\\s+1\\.5MB`));
    assert.match(v.stdout, new RegExp(`\\s${name}\\n`));
    const d = await lib.system.df();
    assert.deepEqual(d.summary.find((s) => s.Type === 'Build Cache'), { Type: 'Build Cache', TotalCount: 0, Active: 0, Size: 0, Reclaimable: 0 });
    assert.equal(d.summary.find((s) => s.Type === 'Local Volumes')!.Size, 1500000);
    ok(t.run(['rm', '-v', name]));
    ok(t.run(['volume', 'rm', vol]));
  });

  test('prune: the prompt, filters, --volumes, images, and the library', async () => {
    // networks are host-wide (shared with other tests): every CLI prune here is held to this
    // test's label, and the library's runs with networks: false
    const tag = t.uniq('tag');
    const a = t.uniq('pa');
    const b = t.uniq('pb');
    const keepRunning = t.uniq('run');
    ok(t.run(['run', '--name', a, '--label', `t=${tag}`, '--label', 'drop=yes', 'host', 'true']));
    ok(t.run(['run', '--name', b, '--label', `t=${tag}`, '-v', '/anon', 'host', 'true']));
    ok(t.run(['run', '-d', '--name', keepRunning, '--label', `t=${tag}`, 'host', 'sleep', '100']));
    const named = t.uniq('named');
    ok(t.run(['volume', 'create', named]));
    const names = () => t.run(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter(Boolean).sort();
    // declined: nothing removed
    const no = t.run(['system', 'prune', '--filter', `label=t=${tag}`], { input: 'n\n' });
    ok(no);
    assert.match(no.stdout, /WARNING! This will remove:\n  - all stopped containers\n/);
    assert.match(no.stdout, /Are you sure you want to continue\? \[y\/N\] $/);
    assert.deepEqual(names(), [a, b, keepRunning].sort());
    // created just now: an until filter in the past keeps them; a label filter picks one
    ok(t.run(['system', 'prune', '-f', '--filter', 'until=1h', '--filter', `label=t=${tag}`]));
    assert.deepEqual(names(), [a, b, keepRunning].sort());
    const byLabel = t.run(['system', 'prune', '-f', '--filter', 'label=drop=yes']);
    ok(byLabel);
    assert.match(byLabel.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
    assert.deepEqual(names(), [b, keepRunning].sort());
    const badFilter = t.run(['system', 'prune', '-f', '--filter', 'color=red']);
    assert.notEqual(badFilter.status, 0);
    assert.match(badFilter.stderr, /invalid filter 'color'/);
    // yes: the stopped container goes; its anonymous volume has no label, so the filter keeps it
    const yes = t.run(['system', 'prune', '--volumes', '--filter', `label=t=${tag}`], { input: 'y\n' });
    ok(yes);
    assert.match(yes.stdout, /all anonymous volumes not used by at least one container/);
    assert.match(yes.stdout, /Total reclaimed space: /);
    assert.deepEqual(names(), [keepRunning]);
    assert.equal(t.run(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).length, 2);
    // the library: unused anonymous volumes, stopped containers and, with all, unused images
    const src = join(t.dir, 'imgsrc');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'x');
    execFileSync('tar', ['-C', src, '-cf', join(t.dir, 'img.tar'), '.']);
    const image = `${t.uniq('pruneme')}:1`;
    ok(t.run(['import', join(t.dir, 'img.tar'), image]));
    const c = t.uniq('pc');
    ok(t.run(['run', '--name', c, 'host', 'true']));
    const dangling = await lib.system.prune({ volumes: true, networks: false });
    assert.equal(dangling.containers.length, 1);
    assert.equal(dangling.volumes.length, 1);
    assert.deepEqual(dangling.images, [], 'a tagged image is not dangling');
    assert.deepEqual(t.run(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean), [named]);
    const all = await lib.system.prune({ all: true, networks: false });
    assert.ok(all.images.some((x) => 'Untagged' in x && x.Untagged === image), JSON.stringify(all.images));
    assert.equal(t.run(['images', '-q']).stdout, '');
    assert.deepEqual(names(), [keepRunning]);
    ok(t.run(['rm', '-f', keepRunning]));
    ok(t.run(['volume', 'rm', named]));
  });

  test('restore after a reboot: always and unless-stopped come back, a container stopped by hand stays down', async () => {
    const always = t.uniq('always');
    const unless = t.uniq('unless');
    const stoppedByHand = t.uniq('byhand');
    const never = t.uniq('never');
    for (const [n, p] of [[always, 'always'], [unless, 'unless-stopped'], [stoppedByHand, 'unless-stopped'], [never, 'no']] as const) {
      ok(t.run(['run', '-d', '--name', n, '--restart', p, 'host', 'sleep', '300']));
    }
    ok(t.run(['stop', '-t', '1', stoppedByHand]));
    // the reboot: every monitor and container process of this root gone, /run wiped
    const pids = [always, unless, never].map((n) => Number(t.run(['inspect', '-f', '{{.State.Pid}}', n]).stdout));
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(t.stateRoot + '/')) process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const p of pids) process.kill(p, 'SIGKILL');
    rmSync(t.stateRoot, { recursive: true, force: true });
    const state = (n: string) => t.run(['inspect', '-f', '{{.State.Status}}', n]).stdout.trim();
    assert.deepEqual([always, unless, stoppedByHand, never].map(state), ['exited', 'exited', 'exited', 'exited']);
    const r = t.run(['system', 'restore']);
    ok(r);
    const ids = [always, unless].map((n) => t.run(['inspect', '-f', '{{.Id}}', n]).stdout.trim()).sort();
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ids);
    assert.deepEqual([always, unless, stoppedByHand, never].map(state), ['running', 'running', 'exited', 'exited']);
    // idempotent: running containers are left alone
    assert.deepEqual((await lib.system.restore()).started, []);
    ok(t.run(['rm', '-f', always, unless, stoppedByHand, never]));
  });
});
