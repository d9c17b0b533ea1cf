// cp's extended-attribute calls in this process (src/engine/copy-xattr-calls.ts): a round trip
// of any bytes, a symlink as the last component not followed (its own attributes, not its
// target's), and errors that carry the errno name as `code` (copy-xattrs.ts leaves out what a
// destination refuses by that name). On the test machine's own file system (ext4: user.*).
import { strict as assert } from 'node:assert';
import { closeSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getXattrs, setXattr } from '../../src/engine/copy-xattr-calls.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-xattr-calls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a round trip of binary values; an entry named through a directory fd as cp does', async () => {
  const f = join(dir, 'file');
  writeFileSync(f, 'x');
  const bin = Buffer.from([0, 1, 2, 255, 0x20, 0x0a]);
  await setXattr(f, 'user.bin', bin);
  await setXattr(f, 'user.text', Buffer.from('hello world'));
  await setXattr(f, 'user.empty', Buffer.alloc(0));
  const fd = openSync(dir, 'r');
  try {
    const got = await getXattrs(`/proc/${process.pid}/fd/${fd}/file`);
    assert.deepEqual(got.get('user.bin'), bin);
    assert.equal(got.get('user.text')?.toString(), 'hello world');
    assert.deepEqual([...got.keys()].sort(), ['user.bin', 'user.empty', 'user.text']);
  } finally {
    closeSync(fd);
  }
});

test('a symlink is not followed: its attributes are its own, and user.* cannot be set on it (EPERM)', async () => {
  const target = join(dir, 'target');
  writeFileSync(target, 'x');
  await setXattr(target, 'user.only-target', Buffer.from('1'));
  const link = join(dir, 'link');
  symlinkSync('target', link);
  assert.equal((await getXattrs(link)).has('user.only-target'), false);
  await assert.rejects(setXattr(link, 'user.x', Buffer.from('1')), (e: NodeJS.ErrnoException) => e.code === 'EPERM' && /user\.x/.test(e.message));
  assert.equal((await getXattrs(target)).has('user.x'), false, 'not set on the target either');
});

test('errors carry the errno name: a missing entry is ENOENT, a bad name is refused', async () => {
  await assert.rejects(getXattrs(join(dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  await assert.rejects(setXattr(join(dir, 'missing'), 'user.a', Buffer.from('1')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  const f = join(dir, 'file2');
  writeFileSync(f, 'x');
  // a name without a namespace: the kernel answers EOPNOTSUPP
  await assert.rejects(setXattr(f, 'nonamespace', Buffer.from('1')), (e: NodeJS.ErrnoException) => e.code === 'EOPNOTSUPP' || e.code === 'ENOTSUP');
});
