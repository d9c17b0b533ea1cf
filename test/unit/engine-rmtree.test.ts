// rmTree (src/engine/fsutil.ts): a container's state or data directory is gone when it returns,
// though the last reference of each directory is dropped later, by an asynchronous close.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { rmTree } from '../../src/engine/fsutil.js';

const base = mkdtempSync(join(tmpdir(), 'berth-rmtree-'));
after(() => rmSync(base, { recursive: true, force: true }));

const openFds = () => readdirSync('/proc/self/fd').length;

test('removes a tree of files, links and directories; the names are gone on return', async () => {
  const d = join(base, 'tree');
  mkdirSync(join(d, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(d, 'exit'), 'status 0\n');
  writeFileSync(join(d, 'sub', 'plan'), 'x'.repeat(5000));
  writeFileSync(join(d, 'sub', 'deeper', 'pid'), '1 0 1\n');
  symlinkSync('/nonexistent', join(d, 'dangling'));
  const fds = openFds();
  rmTree(d);
  assert.equal(existsSync(d), false);
  assert.deepEqual(readdirSync(base).filter((n) => n === 'tree'), []);
  // the held directories are closed once the event loop runs
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(openFds(), fds, 'no directory fd left open');
});

test('a missing directory is nothing to do; a file in its place is removed', () => {
  rmTree(join(base, 'missing'));
  const f = join(base, 'file');
  writeFileSync(f, 'x');
  rmTree(f);
  assert.equal(existsSync(f), false);
});
