// CLI bugs a test audit found, each checked through real containers: follow loops that piled up
// abort listeners (MaxListenersExceededWarning), EPIPE stack traces when the reader of stdout
// goes away, the monitor's exit command recreating a deleted root, docker's events template
// fields, `container ls --help`, and the CRI log file's name.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BERTH, ok, testBerth, testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('cla');

const cli = (tb = t) => `${BERTH} --root ${tb.root} --state-root ${tb.stateRoot}`;

/** Runs `berth ARGS | READER` in bash; the CLI's own exit status and its stderr. */
function piped(args: string, reader: string): { status: number; stderr: string } {
  const r = spawnSync('bash', ['-c', `timeout 30 ${cli()} ${args} 2>"$E" | ${reader} >/dev/null; echo "\${PIPESTATUS[0]}"; cat "$E"`], {
    encoding: 'utf8', env: { ...process.env, E: join(t.dir, t.uniq('stderr')) }, timeout: 60000,
  });
  const [status, ...rest] = r.stdout.split('\n');
  return { status: Number(status), stderr: rest.join('\n') };
}

/** Runs a follow command for ms, then SIGINT; its stderr. */
async function followFor(args: string[], ms: number): Promise<string> {
  const c = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  c.stderr.on('data', (d) => (stderr += d));
  await new Promise((r) => setTimeout(r, ms));
  c.kill('SIGINT');
  await new Promise((r) => c.once('close', r));
  return stderr;
}

describe('CLI audit fixes', () => {
  test('logs -f and events poll for seconds without a MaxListenersExceededWarning', async () => {
    const name = t.uniq('follow');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']));
    try {
      // events polls every 200 ms, logs -f every few ms: both far past node's 10-listener limit
      const [ev, lg] = await Promise.all([followFor(['events'], 3500), followFor(['logs', '-f', name], 3500)]);
      assert.doesNotMatch(ev, /MaxListeners/, ev);
      assert.doesNotMatch(lg, /MaxListeners/, lg);
    } finally {
      ok(t.run(['rm', '-f', name]));
    }
  });

  test('a closed output pipe ends logs -f, attach, stats and events quietly (status 0, no stack trace)', () => {
    const name = t.uniq('pipe');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'seq 1 20000; while true; do echo more; sleep 0.1; done']));
    try {
      for (const [args, reader] of [[`logs -f ${name}`, 'head -1'], [`attach ${name}`, 'head -1'], ['stats', 'head -c 600'],
        // events writes only when something happens: once the reader is gone, make an event
        [`events --since 0`, `{ head -c 10; exec 0<&-; ${cli()} pause ${name}; ${cli()} unpause ${name}; }`]] as const) {
        const r = piped(args, reader);
        assert.equal(r.status, 0, `${args}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|\n\s+at \S/, `${args}: ${r.stderr}`);
      }
      assert.match(t.run(['inspect', '-f', '{{.State.Status}}', name]).stdout, /^running/, 'the container is untouched');
    } finally {
      ok(t.run(['rm', '-f', name]));
    }
  });

  test('rm -f then rm -rf of the root: the monitor\'s exit command does not recreate the root', async () => {
    const t2 = testBerth('clr');
    try {
      const r = spawnSync('bash', ['-c', `${cli(t2)} run -d --network none --rootfs ${rootfs} sleep 100 >/dev/null && ${cli(t2)} rm -f $(${cli(t2)} ps -q) >/dev/null && rm -rf ${t2.root}`], { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 2000));
      assert.ok(!existsSync(t2.root), 'the root came back (system cleanup recreated berth.db)');
    } finally {
      t2.cleanup();
    }
  });

  test('events --format has docker\'s fields; container ls --help names itself; a cri log is named -cri.log', () => {
    const name = t.uniq('ev');
    const since = String(Math.floor(Date.now() / 1000) - 1);
    ok(t.run(['run', '--name', name, '--network', 'none', '--log-driver', 'cri', '--rootfs', rootfs, 'echo', 'hi']));
    const id = t.run(['inspect', '-f', '{{.Id}}', name]).stdout.trim();
    const ev = t.run(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${id}`, '--format', '{{.ID}} {{.Type}} {{.Action}} {{.Status}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Scope}} {{.Time}}']);
    ok(ev);
    assert.match(ev.stdout, new RegExp(`^${id} container start start ${id} ${name} local \\d+$`, 'm'), ev.stdout);
    const logPath = t.run(['inspect', '-f', '{{.LogPath}}', name]).stdout.trim();
    assert.ok(logPath.endsWith(`${id}-cri.log`), logPath);
    assert.ok(existsSync(logPath));
    assert.equal(t.run(['logs', name]).stdout, 'hi\n');
    ok(t.run(['rm', name]));
    const help = t.run(['container', 'ls', '--help']);
    ok(help);
    assert.match(help.stdout, /Usage: {2}berth container ls \[OPTIONS\]/);
    assert.match(t.run(['ps', '--help']).stdout, /Usage: {2}berth ps \[OPTIONS\]/);
  });
});
