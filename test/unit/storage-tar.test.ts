import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/storage/errors.js';
import { chainIdOf, chainIds, mountOf } from '../../src/storage/fsutil.js';
import { checkId, cleanEntryPath, digestHex, entryComponents } from '../../src/storage/paths.js';
import { pickQuota, loopImageBytes } from '../../src/storage/quota/index.js';
import { overlayMountOptions } from '../../src/storage/snapshotters/overlay.js';
import { readTar, parsePax, type TarHeader } from '../../src/storage/tar/reader.js';
import { writeTar, type TarWriteItem } from '../../src/storage/tar/writer.js';
import { classifyWhiteout, isForbiddenXattr } from '../../src/storage/unpack/whiteout.js';
import { makeTar, rawHeader, sha256 } from './storage-fixtures.js';

async function collect(items: TarWriteItem[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of writeTar(items)) out.push(c);
  return Buffer.concat(out);
}

async function read(tar: Buffer): Promise<{ h: TarHeader; data: string }[]> {
  const out: { h: TarHeader; data: string }[] = [];
  for await (const { header, body } of readTar((async function* () { yield tar; })())) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.push({ h: header, data: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

const code = (c: StorageError['code']) => (e: unknown) => e instanceof StorageError && e.code === c;

describe('whiteouts', () => {
  it('classifies whiteout names', () => {
    assert.deepEqual(classifyWhiteout('.wh.passwd'), { kind: 'whiteout', name: 'passwd' });
    assert.deepEqual(classifyWhiteout('.wh..wh..opq'), { kind: 'opaque' });
    assert.deepEqual(classifyWhiteout('.wh..wh.plnk'), { kind: 'meta' });
    assert.deepEqual(classifyWhiteout('passwd'), { kind: 'none' });
    assert.deepEqual(classifyWhiteout('.whatever'), { kind: 'none' });
  });
  it('forbids overlay xattrs from archives', () => {
    assert.ok(isForbiddenXattr('trusted.overlay.redirect'));
    assert.ok(isForbiddenXattr('user.overlay.opaque'));
    assert.ok(!isForbiddenXattr('security.capability'));
  });
});

describe('path containment', () => {
  it('cleans names lexically and takes absolute names inside the layer', () => {
    assert.deepEqual(entryComponents('./etc//passwd'), ['etc', 'passwd']);
    assert.deepEqual(entryComponents('/etc/passwd'), ['etc', 'passwd']);
    assert.deepEqual(entryComponents('a/b/../c/./d/'), ['a', 'c', 'd']);
    assert.deepEqual(entryComponents('./'), []);
    assert.equal(cleanEntryPath('a/../b'), 'b');
  });
  it('refuses names that climb out, NUL bytes and over-long names', () => {
    assert.throws(() => entryComponents('../../etc/passwd'), code('HOSTILE'));
    assert.throws(() => entryComponents('a/../../b'), code('HOSTILE'));
    assert.throws(() => entryComponents('/../x'), code('HOSTILE'));
    assert.throws(() => entryComponents('a\0b'), code('HOSTILE'));
    assert.throws(() => entryComponents('x'.repeat(256)), code('LIMIT'));
    assert.throws(() => entryComponents('a/'.repeat(2049)), code('LIMIT'));
  });
  it('accepts only strict digests and safe ids as directory names', () => {
    assert.equal(digestHex(`sha256:${'a'.repeat(64)}`), 'a'.repeat(64));
    assert.throws(() => digestHex(`sha256:${'A'.repeat(64)}`), code('FORMAT'));
    assert.throws(() => digestHex('sha256:../../etc'), code('FORMAT'));
    assert.equal(checkId('web-1.a_b'), 'web-1.a_b');
    assert.throws(() => checkId('../x'), code('FORMAT'));
    assert.throws(() => checkId('.hidden'), code('FORMAT'));
  });
  it('computes chain ids as the OCI image spec does', () => {
    const a = sha256('a');
    const b = sha256('b');
    assert.equal(chainIdOf(undefined, a), a);
    assert.equal(chainIdOf(a, b), sha256(`${a} ${b}`));
    assert.deepEqual(chainIds([a, b]), [a, sha256(`${a} ${b}`)]);
  });
});

describe('tar reader and writer', () => {
  it('reads what tar-stream writes (ustar and PAX long names)', async () => {
    const long = 'd/'.repeat(80) + 'file';
    const tar = await makeTar([
      { name: 'dir/', type: 'directory', mode: 0o755 },
      { name: 'dir/f', body: 'hello', mode: 0o640, uid: 7, gid: 8 },
      { name: long, body: 'x' },
      { name: 'link', type: 'symlink', linkname: 'l/'.repeat(70) },
    ]);
    const r = await read(tar);
    assert.deepEqual(r.map((e) => e.h.name), ['dir/', 'dir/f', long, 'link']);
    assert.equal(r[0]!.h.type, 'dir');
    assert.equal(r[1]!.data, 'hello');
    assert.equal(r[1]!.h.mode, 0o640);
    assert.equal(r[1]!.h.uid, 7);
    assert.equal(r[3]!.h.linkname, 'l/'.repeat(70));
  });

  it('round-trips binary xattrs, big ids, sub-second times, non-ASCII and long names', async () => {
    const xattrs = new Map([['security.capability', Buffer.from([1, 0, 0, 2, 0x80, 0xff, 0, 0])], ['user.t', Buffer.from('v')]]);
    const name = 'ünïcode/' + 'n'.repeat(150);
    const tar = await collect([
      { header: { name, type: 'file', mode: 0o4755, uid: 3_000_000, gid: 4_000_000, size: 3, mtime: 1_700_000_000.25, xattrs }, body: Buffer.from('abc') },
      { header: { name: 'dev', type: 'char', mode: 0o600, devmajor: 1, devminor: 3 } },
      { header: { name: 'hl', type: 'link', mode: 0, linkname: name } },
    ]);
    const r = await read(tar);
    assert.equal(r[0]!.h.name, name);
    assert.equal(r[0]!.h.uid, 3_000_000);
    assert.equal(r[0]!.h.gid, 4_000_000);
    assert.equal(r[0]!.h.mode, 0o4755);
    assert.equal(r[0]!.h.mtime, 1_700_000_000.25);
    assert.deepEqual(r[0]!.h.xattrs.get('security.capability'), xattrs.get('security.capability'));
    assert.equal(r[0]!.data, 'abc');
    assert.equal(r[1]!.h.type, 'char');
    assert.equal(r[1]!.h.devminor, 3);
    assert.equal(r[2]!.h.linkname, name);
  });

  it('pads or cuts a body to the announced size', async () => {
    const tar = await collect([
      { header: { name: 'short', type: 'file', mode: 0o644, size: 5 }, body: Buffer.from('ab') },
      { header: { name: 'long', type: 'file', mode: 0o644, size: 2 }, body: Buffer.from('abcdef') },
    ]);
    const r = await read(tar);
    assert.equal(r[0]!.data, 'ab\0\0\0');
    assert.equal(r[1]!.data, 'ab');
  });

  it('skips unread bodies and ignores the size field of header-only entries (as Go does)', async () => {
    const tar = Buffer.concat([rawHeader({ name: 'sym', type: '2', size: '00000001000', linkname: 'x' }), rawHeader({ name: 'f', size: '00000000003' }), Buffer.from('abc'), Buffer.alloc(509), Buffer.alloc(1024)]);
    const names: string[] = [];
    for await (const { header } of readTar((async function* () { yield tar; })())) names.push(header.name);
    assert.deepEqual(names, ['sym', 'f']);
  });

  it('rejects malformed PAX records', () => {
    assert.throws(() => parsePax(Buffer.from('99 path=x\n')), code('FORMAT'));
    assert.throws(() => parsePax(Buffer.from('5 a\n')), code('FORMAT'));
    assert.deepEqual(parsePax(Buffer.from('10 path=x\n')).get('path'), Buffer.from('x'));
  });

  it('accepts base-256 sizes and refuses negative ones', async () => {
    const h = rawHeader({ name: 'big' });
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h[135] = 3;
    // fix the checksum
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of h) sum += c;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    const r = await read(Buffer.concat([h, Buffer.from('xyz'), Buffer.alloc(509), Buffer.alloc(1024)]));
    assert.equal(r[0]!.data, 'xyz');
  });
});

describe('host detection', () => {
  it('finds the mount that holds a path', () => {
    const mi = [
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '40 27 0:40 / /var/lib/berth rw - btrfs /dev/loop0 rw,space_cache',
      '41 27 0:41 / /srv/x\\040y rw - xfs /dev/sdb rw,prjquota',
    ].join('\n');
    assert.equal(mountOf('/var/lib/berth/storage', mi)?.fsType, 'btrfs');
    assert.equal(mountOf('/var/lib/berthx', mi)?.fsType, 'ext4');
    assert.deepEqual(mountOf('/srv/x y/a', mi)?.superOptions, ['rw', 'prjquota']);
  });
  it('explains why a quota method cannot work', () => {
    assert.throws(() => pickQuota('/dev/shm', 'btrfs'), (e: unknown) => e instanceof StorageError && e.code === 'QUOTA' && /not on btrfs/.test(e.message));
    assert.throws(() => pickQuota('/dev/shm', 'xfs'), (e: unknown) => e instanceof StorageError && e.code === 'QUOTA' && /not on XFS/.test(e.message));
  });
  it('sizes loop images a little over the limit', () => {
    assert.ok(loopImageBytes(16 << 20) > 16 << 20);
    assert.ok(loopImageBytes(16 << 20) < 18 << 20);
  });
  it('turns off overlay features that diff() cannot read, where the kernel has them', () => {
    assert.deepEqual(overlayMountOptions('/nonexistent'), []);
  });
});
