// setRawTerminal (src/cli/berth/raw-terminal.ts) with a fake stty first on PATH: a working one
// sets the whole mode quietly; a failing one is said once (with stty's own reason), not ignored.
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setRawTerminal } from '../../src/cli/berth/raw-terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-rawterm-'));
const PATH = process.env.PATH;
after(() => {
  process.env.PATH = PATH;
  rmSync(dir, { recursive: true, force: true });
});

/** A fake stty in its own directory, first on PATH; returns the file it records its arguments in. */
function fakeStty(name: string, body: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  const log = join(d, 'args');
  writeFileSync(join(d, 'stty'), `#!/bin/sh\necho "$@" >> ${log}\n${body}\n`);
  chmodSync(join(d, 'stty'), 0o755);
  process.env.PATH = `${d}:${PATH}`;
  return log;
}

/** A stdin that records its raw-mode calls. */
function fakeStdin(): { setRawMode(m: boolean): any; modes: boolean[] } {
  const modes: boolean[] = [];
  return { modes, setRawMode(m: boolean) { modes.push(m); return this; } };
}

// in this order: the warning is said once per process
test('a working stty: raw mode and -opost, nothing said', () => {
  const log = fakeStty('good', 'exit 0');
  const stdin = fakeStdin();
  const said: string[] = [];
  assert.equal(setRawTerminal(stdin as never, (m) => said.push(m)), true);
  assert.deepEqual(stdin.modes, [true]);
  assert.equal(readFileSync(log, 'utf8'), '-opost\n');
  assert.deepEqual(said, []);
});

test('a failing stty: said once on stderr with its reason, the relay goes on in raw mode', () => {
  const log = fakeStty('bad', 'echo "stty: standard input: Inappropriate ioctl for device" >&2; exit 1');
  const said: string[] = [];
  for (let i = 0; i < 3; i++) {
    const stdin = fakeStdin();
    assert.equal(setRawTerminal(stdin as never, (m) => said.push(m)), false);
    assert.deepEqual(stdin.modes, [true]);
  }
  assert.equal(readFileSync(log, 'utf8'), '-opost\n'.repeat(3));
  assert.equal(said.length, 1, said.join(''));
  assert.match(said[0]!, /stty -opost: stty: standard input: Inappropriate ioctl for device/);
  assert.match(said[0]!, /\n$/);
});
