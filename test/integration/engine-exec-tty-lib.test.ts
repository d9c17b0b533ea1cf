// The library's exec with a terminal (root, real containers): berth.exec(id, { tty: true })
// gives the process a pty proxied to Node streams, its size set at the start and by the handle's
// resize() (docker's POST /exec/{id}/resize), stdin piped through (a stream, a string, or the
// handle's own stdin with interactive), the exit code; without tty nothing changed.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/index.js';
import { testBerthWithLibrary } from '../helpers/berth-cli.js';
import { collector, until } from '../helpers/library.js';

const lt = testBerthWithLibrary('exectty');
const strip = (s: string) => s.replace(/\r/g, '');

async function sleeper(): Promise<string> {
  const { id } = await lt.lib.run({ rootfs: lt.rootfs, network: 'none', cmd: ['sleep', '1000'], detach: true });
  return id;
}

describe('library exec with a terminal', () => {
  test('the size given at the start and set by resize() is what stty sees; exit code propagated', async () => {
    const id = await sleeper();
    const out = collector();
    const input = new PassThrough();
    const h = lt.lib.exec(id, { cmd: ['sh'], tty: true, stdin: input, stdout: out, size: { rows: 21, cols: 61 } });
    input.write('echo "start $(stty size) $([ -t 0 ] && echo tty)"\n');
    await until('the size given at the start', () => strip(out.text()).includes('start 21 61 tty\n'));
    h.resize(33, 111);
    input.write('echo "then $(stty size)"; exit 7\n');
    const r = await h;
    assert.equal(r.exitCode, 7);
    assert.match(strip(out.text()), /then 33 111\n/);
    assert.equal(r.stderr, '', 'a terminal has one output: all of it on stdout');
    // the shim's size socket (and any other host fd) stays out of the container: its fds are the pty's
    const fds = await lt.lib.exec(id, { cmd: ['sh', '-c', 'for f in /proc/$$/fd/*; do readlink $f; done'], tty: true });
    assert.match(strip(fds.stdout!), /\/dev\/pts\/\d+\n/);
    assert.doesNotMatch(fds.stdout!, /socket:|pipe:/, fds.stdout);
    // bad sizes: clear errors naming the field
    assert.throws(() => h.resize(0, 80), (e) => isEngineError(e, 'invalid') && /rows 0/.test(e.message));
    await assert.rejects(lt.lib.exec(id, { cmd: ['true'], tty: true, size: { rows: 10, cols: 70000 } }), (e) => isEngineError(e, 'invalid') && /cols 70000/.test(e.message));
    await assert.rejects(lt.lib.exec(id, { cmd: ['true'], size: { rows: 10, cols: 10 } }), (e) => isEngineError(e, 'invalid') && /needs tty/.test(e.message));
    await assert.rejects(lt.lib.exec(id, { cmd: ['true'], tty: true, detach: true }), (e) => isEngineError(e, 'invalid') && /detach/.test(e.message));
    await lt.lib.remove(id, { force: true });
  });

  test('resize() before the process is up is applied once it is', async () => {
    const id = await sleeper();
    const h = lt.lib.exec(id, { cmd: ['sh', '-c', 'read x; stty size'], tty: true, stdin: 'go\n' });
    h.resize(44, 122);
    const r = await h;
    assert.equal(r.exitCode, 0);
    // the pty echoes the typed line, then stty's answer
    assert.match(strip(r.stdout!), /^go\n44 122\n$/);
    await lt.lib.remove(id, { force: true });
  });

  test('stdin through the terminal: cat echoes a string and ends at its end (ctrl-D); interactive gives the handle a stdin', async () => {
    const id = await sleeper();
    const r = await lt.lib.exec(id, { cmd: ['cat'], tty: true, stdin: 'hello\nworld\n' });
    assert.equal(r.exitCode, 0);
    // each line twice: the terminal's echo and cat's copy (how they interleave is the scheduler's)
    assert.deepEqual(strip(r.stdout!).split('\n').sort(), ['', 'hello', 'hello', 'world', 'world']);
    const h = lt.lib.exec(id, { cmd: ['sh', '-c', 'read a; read b; echo "got $a $b"; exit $b'], tty: true, interactive: true });
    assert.ok(h.stdin, 'interactive: the handle has a stdin');
    h.stdin.write('x\n');
    h.stdin.end('3\n');
    const r2 = await h;
    assert.equal(r2.exitCode, 3);
    assert.match(strip(r2.stdout!), /got x 3\n$/);
    await lt.lib.remove(id, { force: true });
  });

  test('without tty: no terminal, separate stdout and stderr, stdin ends with its end; resize refused', async () => {
    const id = await sleeper();
    const h = lt.lib.exec(id, { cmd: ['sh', '-c', 'cat; [ -t 0 ] || echo notty >&2; exit 5'], stdin: 'plain\n' });
    assert.throws(() => h.resize(24, 80), (e) => isEngineError(e, 'conflict') && /no terminal/.test(e.message));
    assert.deepEqual(await h, { exitCode: 5, stdout: 'plain\n', stderr: 'notty\n' });
    const ih = lt.lib.exec(id, { cmd: ['sh', '-c', 'read a; echo "[$a]"'], interactive: true });
    ih.stdin!.end('piped\n');
    assert.deepEqual(await ih, { exitCode: 0, stdout: '[piped]\n', stderr: '' });
    await lt.lib.remove(id, { force: true });
  });
});
