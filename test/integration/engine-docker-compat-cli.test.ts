// Two docker behaviours of issue 6 with real containers (root): `start -a` of a container that is
// already running attaches to it (CLI and library), and `exec -it` (the library's exec with tty)
// detaches on its detach keys (docker's ctrl-p,ctrl-q or --detach-keys), leaving the process
// running. Terminals come from util-linux `script` (a real pty). Waits are on output and files.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { BERTH, ok, testBerthWithLibrary } from '../helpers/berth-cli.js';
import { sleep, startCli, until } from '../helpers/cli-procs.js';
import { isEngineError } from '../../src/index.js';
import { collector } from '../helpers/library.js';

const tl = testBerthWithLibrary('dcompat');
const { t } = tl;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const cliLine = (args: string[]) => [BERTH, '--root', t.root, '--state-root', t.stateRoot, ...args].map(q).join(' ');

/** A shell line run on a real terminal (util-linux script): write() types, output collects the screen. */
function onPty(line: string) {
  const child = spawn('script', ['-qec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stdin!.on('error', () => {});
  const done = new Promise<number | null>((res) => child.on('close', (s) => res(s)));
  return {
    done,
    get output() {
      return output;
    },
    write: (s: string) => child.stdin!.write(s),
    async waitFor(re: RegExp, ms = 30000) {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (re.test(output)) return;
      assert.fail(`no ${re} on the terminal within ${ms} ms; got ${JSON.stringify(output)}`);
    },
    async end(ms = 30000): Promise<number | null | 'hung'> {
      const r = await Promise.race([done, sleep(ms).then(() => 'hung' as const)]);
      if (r === 'hung') child.kill('SIGKILL');
      return r;
    },
  };
}

const status = (name: string) => t.run(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();

/** A detached container printing "tick" every 100 ms until /tmp/go-<name> exists, then "late", exit 3. */
function ticking(name: string): string {
  const go = `/tmp/go-${name}`;
  ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', tl.rootfs, 'sh', '-c', `while [ ! -e ${go} ]; do echo tick; sleep 0.1; done; echo late; exit 3`]), 'run -d');
  return go;
}

describe('docker compatibility: start -a of a running container, exec -it detach keys', () => {
  test('CLI: start -a of a running container attaches: its output, then its exit status', async () => {
    const name = t.uniq('sa');
    const go = ticking(name);
    // without -a: a no-op that prints the name, as docker
    const s = t.run(['start', name]);
    ok(s, 'start of a running container');
    assert.equal(s.stdout, `${name}\n`);
    assert.equal(status(name), 'running');
    // bad detach keys: refused before anything is done
    // (docker's status for a refused start or exec is 1, as here)
    const bad = t.run(['start', '-a', '--detach-keys', 'ctrl-1', name]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Invalid detach keys \(ctrl-1\)/);
    const p = startCli(t, ['start', '-a', name]);
    await until('output through start -a', () => {
      if (p.child.exitCode !== null) assert.fail(`start -a ended early (${p.child.exitCode}): ${p.stdout()}`);
      return p.stdout().includes('tick\n');
    }, 30000);
    ok(t.run(['exec', name, 'touch', go]));
    const r = await p.done;
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /^(tick\n)+late\n$/);
    assert.equal(t.run(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout, 'exited 3\n');
    ok(t.run(['rm', name]));
  });

  test('library: start({ attach: true }) of a running container attaches: its output, then its exit status', async () => {
    const name = t.uniq('sl');
    const go = ticking(name);
    const out = collector();
    const p = tl.lib.start(name, { attach: true, stdout: out });
    await until('output through start({ attach })', () => out.text().includes('tick\n'), 30000);
    ok(t.run(['exec', name, 'touch', go]));
    const r = await p;
    assert.equal(r.exitCode, 3);
    assert.equal(r.detached, false);
    assert.match(out.text(), /^(tick\n)+late\n$/);
    ok(t.run(['rm', name]));
  });

  test('exec -it: ctrl-p ctrl-q and --detach-keys detach (status 0), the process keeps running, the terminal is restored', async () => {
    const name = t.uniq('ed');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', tl.rootfs, 'sleep', '300']), 'run -d');
    for (const [keys, seq] of [[undefined, '\x10\x11'], ['ctrl-x,y', '\x18y']] as const) {
      const tag = keys ? 'custom' : 'default';
      const go = `/tmp/go-${name}-${tag}`;
      const done = `/tmp/done-${name}-${tag}`;
      // after the detach it goes on printing (to nobody) until the trigger, then writes a file
      const script = `read l; echo "got $l"; while [ ! -e ${go} ]; do echo tick; sleep 0.1; done; echo "$l" > ${done}`;
      const exec = cliLine(['exec', '-it', ...(keys ? ['--detach-keys', keys] : []), name, 'sh', '-c', script]);
      // the terminal's settings after the CLI returned: raw mode undone
      const p = onPty(`${exec}; echo "status=$?"; stty -a`);
      p.write('hello\r');
      await p.waitFor(/got hello/);
      p.write(seq);
      assert.equal(await p.end(), 0, `detach with ${JSON.stringify(seq)}: ${JSON.stringify(p.output)}`);
      assert.match(p.output, /status=0/);
      assert.match(p.output, /[^-]icanon/, 'canonical mode restored');
      assert.match(p.output, /[^-]opost/, 'output processing restored');
      assert.match(p.output, /[^-]echo\b/, 'echo restored');
      // still running, its output going nowhere: it sees the trigger and writes its file
      ok(t.run(['exec', name, 'touch', go]));
      await until(`the detached exec's file (${tag})`, () => t.run(['exec', name, 'cat', done]).stdout === 'hello\n', 30000);
    }
    assert.equal(status(name), 'running');
    ok(t.run(['rm', '-f', name]));
  });

  // (node itself restores the terminal on SIGTERM, not on SIGHUP or SIGQUIT)
  test('exec -it: a SIGTERM, SIGHUP or SIGQUIT to the CLI restores the terminal before it dies of it', async () => {
    const name = t.uniq('ek');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', tl.rootfs, 'sleep', '300']), 'run -d');
    for (const sig of ['TERM', 'HUP', 'QUIT'] as const) {
      const marker = `${name}-${sig}`;
      // the CLI is node running berth-node.cjs with this marker in its argv; the shell's own
      // command line names it too, hence the [-] in the pattern (the shell's has a literal "[")
      const exec = cliLine(['exec', '-it', name, 'sh', '-c', `echo ready-${marker}; sleep 300`]);
      const p = onPty(`${exec}; echo "status=$?"; stty -a`);
      await p.waitFor(new RegExp(`ready-${marker}`));
      const pk = spawn('pkill', [`-${sig}`, '-f', `berth-node[.]cjs .*exec -it ${marker.replace(`-${sig}`, '')} sh -c echo ready[-]${marker}`]);
      assert.equal(await new Promise((res) => pk.on('close', res)), 0, 'pkill found the CLI');
      assert.notEqual(await p.end(), 'hung', JSON.stringify(p.output));
      assert.match(p.output, new RegExp(`status=${128 + { TERM: 15, HUP: 1, QUIT: 3 }[sig]}`), JSON.stringify(p.output));
      assert.match(p.output, /[^-]icanon/, 'canonical mode restored');
      assert.match(p.output, /[^-]opost/, 'output processing restored');
      assert.match(p.output, /[^-]echo\b/, 'echo restored');
    }
    ok(t.run(['rm', '-f', name]));
  });

  test('library: exec with tty detaches on its detach keys (default and detachKeys), the process keeps running', async () => {
    const name = t.uniq('el');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', tl.rootfs, 'sleep', '300']), 'run -d');
    const script = (tag: string) => `read l; echo "got $l"; while [ ! -e /tmp/go-${name}-${tag} ]; do echo tick; sleep 0.1; done; echo "$l" > /tmp/done-${name}-${tag}`;
    // the handle's own stdin, the default keys typed after the first line was read
    const out = collector();
    const h = tl.lib.exec(name, { cmd: ['sh', '-c', script('default')], tty: true, interactive: true, stdout: out });
    h.stdin!.write('hello\r');
    await until('the first line read', () => out.text().includes('got hello'), 30000);
    h.stdin!.write('\x10');
    h.stdin!.write('\x11');
    assert.deepEqual(await h, { detached: true, stderr: '' });
    // a string for stdin with other keys in it: what follows them is not sent
    const r = await tl.lib.exec(name, { cmd: ['sh', '-c', script('custom')], tty: true, stdin: 'bye\r\x18yignored\r', detachKeys: 'ctrl-x,y' });
    assert.equal(r.detached, true);
    assert.equal(r.exitCode, undefined);
    for (const [tag, line] of [['default', 'hello'], ['custom', 'bye']]) {
      ok(t.run(['exec', name, 'touch', `/tmp/go-${name}-${tag}`]));
      await until(`the detached exec's file (${tag})`, () => t.run(['exec', name, 'cat', `/tmp/done-${name}-${tag}`]).stdout === `${line}\n`, 30000);
    }
    // without a terminal there is nothing to detach from; bad keys are refused before it runs
    await assert.rejects(tl.lib.exec(name, { cmd: ['true'], stdin: 'x', detachKeys: 'ctrl-x' }), (e) => isEngineError(e, 'invalid') && /without tty/.test(e.message));
    await assert.rejects(tl.lib.exec(name, { cmd: ['true'], tty: true, stdin: 'x', detachKeys: 'ctrl-1' }), (e) => isEngineError(e, 'invalid') && /detachKeys/.test(e.message));
    // no detach keys typed: its status as before
    assert.equal((await tl.lib.exec(name, { cmd: ['sh', '-c', 'read l; exit 7'], tty: true, stdin: 'x\r' })).exitCode, 7);
    ok(t.run(['rm', '-f', name]));
  });

  test('exec -it: typed input reaches the process, its status is returned; bad --detach-keys refused', async () => {
    const name = t.uniq('es');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', tl.rootfs, 'sleep', '300']), 'run -d');
    // a lone first key of the sequence is input: ctrl-p then "x" reach the process
    const p = onPty(cliLine(['exec', '-it', name, 'sh', '-c', 'stty raw -echo; echo ready; c=$(dd bs=2 count=1 2>/dev/null | od -An -c | tr -s " "); echo "read:$c"; exit 4']));
    await p.waitFor(/ready/); // the CLI relays (its terminal raw) and the process reads bytes as they come
    p.write('\x10x');
    assert.equal(await p.end(), 4, JSON.stringify(p.output));
    assert.match(p.output, /read: 020 x/);
    const bad = t.run(['exec', '-it', '--detach-keys', 'ctrl-', name, 'true']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Invalid detach keys \(ctrl-\)/);
    const badAttach = t.run(['attach', '--detach-keys', 'ctrl-', name]);
    assert.equal(badAttach.status, 1);
    assert.match(badAttach.stderr, /Invalid detach keys \(ctrl-\)/);
    ok(t.run(['rm', '-f', name]));
  });
});
