// Issue 6's "--help everywhere" through the `berth` CLI: every verb and management sub-verb that
// `berth --help` lists prints its usage with exit 0 and nothing on stderr; the verbs and run flags
// the issue names are all there; an unknown flag on any verb is docker's message and 125.
// (Only --help and a refused flag: no container is made.)
import { strict as assert } from 'node:assert';
import { after, describe, test } from 'node:test';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { pool, startCli } from '../helpers/cli-procs.js';

const t = testBerth('help');

after(() => t.cleanup());

describe('berth CLI: --help everywhere', () => {
  test('--help everywhere: every verb and sub-verb prints its usage, exit 0; the issue\'s verbs are all listed', async () => {
    const top = t.run(['--help']);
    ok(top);
    const section = (text: string, title: string) => (text.split(`${title}:\n`)[1] ?? '').split('\n\n')[0]!.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
    const verbs = section(top.stdout, 'Commands');
    const groups = section(top.stdout, 'Management Commands');
    for (const v of ['run', 'create', 'start', 'stop', 'kill', 'restart', 'rm', 'ps', 'logs', 'exec', 'attach', 'inspect', 'wait', 'top', 'stats', 'pause', 'unpause', 'cp', 'rename', 'update', 'port', 'events', 'info', 'version']) {
      assert.ok(verbs.includes(v), `berth --help lists ${v}`);
    }
    for (const g of ['container', 'volume', 'network', 'system', 'image']) assert.ok(groups.includes(g), `berth --help lists ${g}`);
    // many CLI starts: 4 at a time
    const help = (args: string[]) => startCli(t, [...args, '--help']).done;
    const checked: string[] = [];
    await pool(verbs, 4, async (v) => {
      const h = await help([v]);
      assert.equal(h.status, 0, `berth ${v} --help: ${h.stderr}`);
      assert.match(h.stdout, new RegExp(`Usage:\\s+berth (\\w+ )?${v}\\b`), `berth ${v} --help`);
      assert.equal(h.stderr, '', `berth ${v} --help writes nothing on stderr`);
      checked.push(v);
    });
    const subs = await pool(groups, 4, async (g) => {
      const h = await help([g]);
      assert.equal(h.status, 0, `berth ${g} --help: ${h.stderr}`);
      const list = section(h.stdout, 'Commands');
      assert.ok(list.length > 0, `berth ${g} --help lists its commands`);
      return list.map((s) => [g, s] as const);
    });
    await pool(subs.flat(), 4, async ([g, s]) => {
      const sh = await help([g, s]);
      assert.equal(sh.status, 0, `berth ${g} ${s} --help: ${sh.stderr}`);
      assert.match(sh.stdout, /Usage:\s+berth \w+/, `berth ${g} ${s} --help`);
      checked.push(`${g} ${s}`);
    });
    for (const s of ['create', 'ls', 'inspect', 'rm', 'prune']) assert.ok(checked.includes(`volume ${s}`), `volume ${s}`);
    for (const s of ['info', 'df', 'prune', 'events']) assert.ok(checked.includes(`system ${s}`), `system ${s}`);
    for (const s of ['create', 'ls', 'inspect', 'rm', 'prune', 'connect', 'disconnect']) assert.ok(checked.includes(`network ${s}`), `network ${s}`);
    // every run flag the issue names is documented
    const runHelp = t.run(['run', '--help']).stdout;
    for (const f of ['-d, --detach', '-i, --interactive', '-t, --tty', '--rm', '--name', '-e, --env', '--env-file', '-w, --workdir', '-u, --user', '-v, --volume', '--mount', '--tmpfs',
      '--read-only', '--hostname', '--entrypoint', '--init', '--restart', '--memory', '--memory-swap', '--cpus', '--cpu-shares', '--cpuset-cpus', '--pids-limit', '--device',
      '--device-read-bps', '--device-write-bps', '--device-read-iops', '--device-write-iops', '--cap-add', '--cap-drop', '--privileged', '--security-opt', '--ulimit', '--sysctl',
      '--userns', '--storage-opt', '--network', '--label', '--stop-signal', '--stop-timeout', '--health-cmd', '--health-interval', '--health-retries', '--health-timeout', '--health-start-period']) {
      assert.ok(runHelp.includes(f), `run --help documents ${f}`);
    }
    // an unknown flag on any verb: docker's message and 125
    await pool(['ps', 'logs', 'exec', 'attach', 'stats', 'cp', 'volume ls', 'system df', 'network ls'], 4, async (v) => {
      const r = await startCli(t, [...v.split(' '), '--no-such-flag']).done;
      assert.equal(r.status, 125, `${v} --no-such-flag: ${r.stderr}`);
      assert.match(r.stderr, /unknown flag: --no-such-flag\nSee 'berth .*--help'/, v);
    });
  });
});
