// Terminals: --console-socket receives the pty master (SCM_RIGHTS, as runc), consoleSize is
// applied, and the process has the pty as its controlling terminal.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BERTH_OCI, makeBundle, oci, REPO, type Bundle } from '../helpers/bundle.js';

const made: Bundle[] = [];
let recvtty = '';
before(() => {
  recvtty = join(makeBundleDir(), 'recvtty');
  execFileSync('cc', ['-O1', '-o', recvtty, join(REPO, 'test', 'helpers', 'recvtty.c')]);
});
after(() => made.forEach((b) => b.cleanup()));

function makeBundleDir(): string {
  const b = makeBundle(['true']);
  made.push(b);
  return b.dir;
}

async function withConsole(b: Bundle, run: (sock: string) => void): Promise<string> {
  const sock = join(b.dir, 'console.sock');
  const rx = spawn(recvtty, [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  rx.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('LISTENING')) await new Promise((r) => setTimeout(r, 10));
  run(sock);
  await new Promise((r) => rx.on('exit', r));
  return out;
}

test('create --console-socket: the container gets a pty of the requested size', async () => {
  const b = makeBundle(['sh', '-c', 'tty; stty size; [ -t 0 ] && echo STDIN-IS-TTY'], (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 33, width: 111 };
  });
  made.push(b);
  const out = await withConsole(b, (sock) => {
    const log = openSync(join(b.dir, 'create.log'), 'w');
    const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'create', '--console-socket', sock, '--bundle', b.dir, b.id], { stdio: ['ignore', log, log] });
    closeSync(log);
    assert.equal(r.status, 0, readFileSync(join(b.dir, 'create.log'), 'utf8'));
    assert.equal(oci(b, ['start', b.id]).status, 0);
  });
  assert.match(out, /SIZE 33 111/);
  assert.match(out, /\/dev\/pts\/\d+/);
  assert.match(out, /33 111/);
  assert.match(out, /STDIN-IS-TTY/);
});

test('exec --tty --console-socket in a running container', async () => {
  const b = makeBundle(['sleep', '100']);
  made.push(b);
  const log = openSync(join(b.dir, 'create.log'), 'w');
  spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '-d', '--bundle', b.dir, b.id], { stdio: ['ignore', log, log] });
  closeSync(log);
  const out = await withConsole(b, (sock) => {
    const r = oci(b, ['exec', '-t', '--console-socket', sock, b.id, 'sh', '-c', 'tty; echo done']);
    assert.equal(r.status, 0, r.stderr);
  });
  assert.match(out, /\/dev\/pts\/\d+/);
  assert.match(out, /done/);
  assert.equal(oci(b, ['delete', '-f', b.id]).status, 0);
});
