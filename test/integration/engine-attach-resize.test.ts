// Terminal size of a -t container (root): the library's attach handle resize(), berth.resize()
// (docker's POST /containers/{id}/resize), and `berth exec -t` and `berth attach` following the
// size of the terminal they run in (driven through a pty by python's pty module).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Berth, isEngineError } from '../../src/index.js';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { collector, until } from '../helpers/library.js';

const { t, rootfs } = testBerthWithRootfs('resize');
let lib: Berth;
before(() => {
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});
after(() => lib.close());

/**
 * Runs the berth CLI with args in a pty of rows x cols; once `ready` is printed, the pty is set to
 * rows2 x cols2 (the kernel sends SIGWINCH to the CLI) and `then` is typed. Returns the output.
 */
function inPty(args: string[], size: [number, number], size2: [number, number], ready: string, then: string): string {
  const py = `
import fcntl, os, pty, select, struct, sys, termios, time
args, ready, then = sys.argv[1:-2], sys.argv[-2], sys.argv[-1]
pid, fd = pty.fork()
if pid == 0:
    os.execv(args[0], args)
def size(r, c): fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
size(${size[0]}, ${size[1]})
out, sent, end = b'', False, time.time() + 60
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try: d = os.read(fd, 4096)
        except OSError: break
        if not d: break
        out += d
    if not sent and ready.encode() in out:
        size(${size2[0]}, ${size2[1]}); sent = True
        time.sleep(0.3); os.write(fd, then.encode())
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
`;
  const r = spawnSync('python3', ['-c', py, BERTH, '--root', t.root, '--state-root', t.stateRoot, ...args, ready, then], { encoding: 'utf8', timeout: 90000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\r/g, '');
}

describe('terminal size', () => {
  test('library: the attach handle and berth.resize set the size of a -t container', async () => {
    const { id } = await lib.run({ rootfs, network: 'none', tty: true, cmd: ['sh', '-c', 'while true; do echo "size $(stty size)"; sleep 0.1; done'], detach: true });
    const out = collector();
    const ac = new AbortController();
    const handle = lib.attach(id, { stdout: out, signal: ac.signal, size: { rows: 21, cols: 61 } });
    await until('the size given at attach', () => out.text().includes('size 21 61'));
    handle.resize(33, 111);
    await until('the handle resize', () => out.text().includes('size 33 111'));
    await lib.resize(id, { rows: 44, cols: 122 });
    await until('berth.resize', () => out.text().includes('size 44 122'));
    // bad sizes and containers without a terminal: clear errors, nothing sent
    assert.throws(() => handle.resize(0, 80), (e) => isEngineError(e, 'invalid') && /rows 0/.test(e.message));
    await assert.rejects(lib.resize(id, { rows: 24, cols: 70000 }), (e) => isEngineError(e, 'invalid') && /cols 70000/.test(e.message));
    ac.abort();
    assert.deepEqual(await handle, { detached: true, stderr: '' });
    const { id: plain } = await lib.run({ rootfs, network: 'none', cmd: ['sleep', '30'], detach: true });
    await assert.rejects(lib.resize(plain, { rows: 24, cols: 80 }), (e) => isEngineError(e, 'conflict') && /no terminal/.test(e.message));
    // a size at attach: refused as the handle's rejection (not a throw), before any connection
    await assert.rejects(lib.attach(plain, { size: { rows: 24, cols: 80 } }), (e) => isEngineError(e, 'conflict') && /no terminal/.test(e.message));
    await assert.rejects(lib.attach(id, { size: { rows: 0, cols: 80 } }), (e) => isEngineError(e, 'invalid') && /rows 0/.test(e.message));
    // start({ attach }) likewise: refused before anything starts or attaches
    const { id: fresh } = await lib.create({ rootfs, network: 'none', cmd: ['true'] });
    await assert.rejects(lib.start(fresh, { attach: true, size: { rows: 24, cols: 80 } }), (e) => isEngineError(e, 'conflict') && /no terminal/.test(e.message));
    assert.equal((lib.inspect(fresh) as { State: { Status: string } }).State.Status, 'created');
    await lib.remove(fresh);
    await lib.remove(plain, { force: true });
    await lib.remove(id, { force: true });
    await assert.rejects(lib.resize(id, { rows: 24, cols: 80 }), (e) => isEngineError(e, 'notfound'));
  });

  test('CLI: exec -t and attach follow the size of their terminal', () => {
    const name = t.uniq('tty');
    ok(t.run(['run', '-d', '-t', '-i', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'while true; do sleep 1; done']));
    const ex = inPty(['exec', '-t', '-i', name, 'sh', '-c', 'echo "first $(stty size)"; read x; echo "second $(stty size)"'], [25, 81], [37, 97], 'first ', 'go\r');
    assert.match(ex, /first 25 81\n/);
    assert.match(ex, /second 37 97\n/);
    const name2 = t.uniq('att');
    ok(t.run(['run', '-d', '-t', '-i', '--name', name2, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'while ! read -t 1 x; do echo "tick $(stty size)"; done; echo "now $(stty size)"']));
    // attach sends its terminal's size as it starts, and the new one on SIGWINCH
    const at = inPty(['attach', name2], [26, 82], [38, 98], 'tick 26 82', 'go\r');
    assert.match(at, /now 38 98\n/);
    ok(t.run(['rm', '-f', name, name2]));
  });
});
