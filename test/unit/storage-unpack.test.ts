import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { StorageError } from '../../src/storage/errors.js';
import { FsHelper } from '../../src/storage/helper.js';
import { unpackLayer, type UnpackOptions } from '../../src/storage/unpack/index.js';
import { encodeHeader } from '../../src/storage/tar/writer.js';
import { isRoot, makeTar, rawHeader, sandbox, sha256, type FixtureEntry, type Sandbox } from './storage-fixtures.js';

const helper = new FsHelper();
after(() => helper.close());

async function unpack(sb: Sandbox, tar: Buffer, more: Partial<UnpackOptions> = {}) {
  return unpackLayer({ source: Readable.from([tar]), dest: sb.dest, mode: 'overlay', helper, ...more });
}

/** Asserts that unpacking tar fails with code and leaves everything outside the layer as it was. */
async function assertContained(entries: FixtureEntry[] | Buffer, code: StorageError['code'] | RegExp, more: Partial<UnpackOptions> = {}, prepare?: (sb: Sandbox) => void) {
  const sb = sandbox();
  try {
    prepare?.(sb);
    const before = sb.outsideState();
    const etcBefore = statSync('/etc/passwd');
    const tar = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
    await assert.rejects(unpack(sb, tar, more), (e: unknown) => {
      if (code instanceof RegExp) return code.test(String((e as Error).message));
      assert.ok(e instanceof StorageError, `expected a StorageError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      return true;
    });
    assert.equal(sb.outsideState(), before, 'something outside the layer changed');
    const etcAfter = statSync('/etc/passwd');
    assert.equal(etcAfter.nlink, etcBefore.nlink);
    assert.equal(etcAfter.mtimeMs, etcBefore.mtimeMs);
  } finally {
    sb.cleanup();
  }
}

describe('unpackLayer: regular content', { skip: !isRoot && 'needs root (owners, whiteout devices)' }, () => {
  let sb: Sandbox;
  before(() => (sb = sandbox()));
  after(() => sb.cleanup());

  it('unpacks files, dirs, symlinks, hardlinks, modes, owners, times, xattrs, fifos and devices', async () => {
    const tar = await makeTar([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'bin/', type: 'directory', mode: 0o750, uid: 10, gid: 20, mtime: new Date(1_500_000_000_000) },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 1234, gid: 5678 },
      { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'etc/conf', body: 'x=1\n', pax: { 'SCHILY.xattr.user.note': 'hello' } },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'a/'.repeat(60) + 'deep', body: 'long name' },
    ]);
    const r = await unpack(sb, tar);
    assert.equal(r.diffId, sha256(tar));
    assert.equal(r.compression, 'none');
    const st = statSync(join(sb.dest, 'bin/tool'));
    assert.equal(st.mode & 0o7777, 0o4755, 'setuid kept (mode set after chown)');
    assert.equal(st.uid, 1234);
    assert.equal(st.gid, 5678);
    assert.equal(st.nlink, 2);
    assert.equal(statSync(join(sb.dest, 'bin/same')).ino, st.ino);
    assert.equal(readlinkSync(join(sb.dest, 'bin/sh')), '/bin/busybox');
    const bin = statSync(join(sb.dest, 'bin'));
    assert.equal(bin.mode & 0o7777, 0o750);
    assert.equal(bin.uid, 10);
    assert.equal(bin.mtimeMs, 1_500_000_000_000, 'directory mtime set after its children');
    assert.equal(statSync(join(sb.dest, 'etc/conf')).mtimeMs, 1_600_000_000_000);
    assert.equal((await helper.getXattrs(join(sb.dest, 'etc/conf'))).get('user.note')?.toString(), 'hello');
    const dev = lstatSync(join(sb.dest, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.ok(lstatSync(join(sb.dest, 'run/fifo')).isFIFO());
    assert.equal(readFileSync(join(sb.dest, 'a/'.repeat(60) + 'deep'), 'utf8'), 'long name');
  });

  it('keeps binary xattr values (security.capability) intact', async () => {
    const s2 = sandbox();
    try {
      // VFS_CAP_REVISION_2 | effective, permitted = CAP_SETUID (bit 7: byte 0x80) | CAP_NET_RAW
      const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      const tar = Buffer.concat([
        encodeHeader({ name: 'newuidmap', type: 'file', mode: 0o755, size: 3, xattrs: new Map([['security.capability', cap], ['user.bin', Buffer.from([0xff, 0x00, 0xfe])]]) }),
        Buffer.from('abc'),
        Buffer.alloc(509),
        Buffer.alloc(1024),
      ]);
      await unpack(s2, tar);
      const x = await helper.getXattrs(join(s2.dest, 'newuidmap'));
      assert.deepEqual(x.get('user.bin'), Buffer.from([0xff, 0x00, 0xfe]));
      assert.deepEqual(x.get('security.capability'), cap);
    } finally {
      s2.cleanup();
    }
  });

  it('turns whiteouts into overlay whiteouts and opaque directories into the opaque xattr', async () => {
    const s2 = sandbox();
    try {
      await unpack(s2, await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh.gone', body: '' }, { name: 'var/lib/.wh..wh..opq', body: '' }, { name: 'var/lib/new', body: 'n' }, { name: '.wh..wh.plnk', body: '' }]));
      const wh = lstatSync(join(s2.dest, 'etc/gone'));
      assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a 0/0 character device');
      assert.ok(!existsSync(join(s2.dest, 'etc/.wh.gone')));
      assert.equal((await helper.getXattrs(join(s2.dest, 'var/lib'))).get('trusted.overlay.opaque')?.toString(), 'y');
      assert.ok(existsSync(join(s2.dest, 'var/lib/new')));
      assert.ok(!existsSync(join(s2.dest, '.wh..wh.plnk')), 'aufs bookkeeping entries are dropped');
    } finally {
      s2.cleanup();
    }
  });

  it('applies whiteouts as deletions onto a copied parent (vfs/btrfs form)', async () => {
    const s2 = sandbox();
    try {
      mkdirSync(join(s2.dest, 'etc'));
      writeFileSync(join(s2.dest, 'etc/gone'), 'old');
      writeFileSync(join(s2.dest, 'etc/kept'), 'old');
      mkdirSync(join(s2.dest, 'opq/sub'), { recursive: true });
      writeFileSync(join(s2.dest, 'opq/lower'), 'old');
      writeFileSync(join(s2.dest, 'opq/sub/lower'), 'old');
      await unpack(s2, await makeTar([{ name: 'etc/.wh.gone', body: '' }, { name: 'opq/', type: 'directory' }, { name: 'opq/.wh..wh..opq', body: '' }, { name: 'opq/sub/', type: 'directory' }, { name: 'opq/sub/new', body: 'new' }]), { mode: 'apply' });
      assert.ok(!existsSync(join(s2.dest, 'etc/gone')));
      assert.ok(existsSync(join(s2.dest, 'etc/kept')));
      assert.ok(!existsSync(join(s2.dest, 'opq/lower')), 'opaque: lower content removed');
      assert.ok(!existsSync(join(s2.dest, 'opq/sub/lower')));
      assert.equal(readFileSync(join(s2.dest, 'opq/sub/new'), 'utf8'), 'new', 'opaque: this layer kept');
      // the opaque marker can come after the directory's new content, too
      await unpack(s2, await makeTar([{ name: 'etc/added', body: 'a' }, { name: 'etc/.wh..wh..opq', body: '' }]), { mode: 'apply' });
      assert.ok(existsSync(join(s2.dest, 'etc/added')));
      assert.ok(!existsSync(join(s2.dest, 'etc/kept')));
    } finally {
      s2.cleanup();
    }
  });

  it('lets the last of duplicate entries win', async () => {
    const s2 = sandbox();
    try {
      await unpack(s2, await makeTar([
        { name: 'a', body: 'one' },
        { name: 'a', body: 'two' },
        { name: 'd/', type: 'directory' },
        { name: 'd/x', body: 'x' },
        { name: 'd', body: 'now a file' },
        { name: 'f', body: 'file' },
        { name: 'f', type: 'symlink', linkname: 'a' },
        { name: 'g/', type: 'directory', mode: 0o700 },
        { name: 'g/keep', body: 'k' },
        { name: 'g/', type: 'directory', mode: 0o711 },
      ]));
      assert.equal(readFileSync(join(s2.dest, 'a'), 'utf8'), 'two');
      assert.equal(readFileSync(join(s2.dest, 'd'), 'utf8'), 'now a file');
      assert.equal(readlinkSync(join(s2.dest, 'f')), 'a');
      assert.equal(statSync(join(s2.dest, 'g')).mode & 0o777, 0o711);
      assert.ok(existsSync(join(s2.dest, 'g/keep')), 'a directory over a directory merges');
    } finally {
      s2.cleanup();
    }
  });

  it('decompresses gzip and zstd, and checks the diff_id', async () => {
    const tar = await makeTar([{ name: 'hello', body: 'hello world\n'.repeat(1000) }]);
    const s2 = sandbox();
    try {
      const g = await unpack(s2, gzipSync(tar), { expectedDiffId: sha256(tar) });
      assert.equal(g.compression, 'gzip');
      assert.equal(g.diffId, sha256(tar));
      if (spawnSync('zstd', ['--version']).status === 0) {
        const z = execFileSync('zstd', ['-q', '-c', '-19'], { input: tar });
        const s3 = sandbox();
        try {
          const r = await unpack(s3, z, { expectedDiffId: sha256(tar) });
          assert.equal(r.compression, 'zstd');
          assert.equal(readFileSync(join(s3.dest, 'hello'), 'utf8'), 'hello world\n'.repeat(1000));
        } finally {
          s3.cleanup();
        }
      }
      const s4 = sandbox();
      try {
        await assert.rejects(unpack(s4, gzipSync(tar), { expectedDiffId: sha256('something else') }), (e: unknown) => e instanceof StorageError && e.code === 'DIGEST');
      } finally {
        s4.cleanup();
      }
      const s5 = sandbox();
      try {
        const gz = gzipSync(tar);
        await assert.rejects(unpack(s5, gz.subarray(0, gz.length - 20)), (e: unknown) => e instanceof StorageError && e.code === 'FORMAT');
      } finally {
        s5.cleanup();
      }
    } finally {
      s2.cleanup();
    }
  });

  it('skips device nodes when devices are off, and overlay xattrs always', async () => {
    const s2 = sandbox();
    try {
      const r = await unpack(s2, await makeTar([
        { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
        { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
      ]), { devices: false });
      assert.ok(!existsSync(join(s2.dest, 'dev/sda')));
      assert.equal(r.stats.skippedDevices, 1);
      const x = await helper.getXattrs(join(s2.dest, 'd'));
      assert.equal(x.has('trusted.overlay.redirect'), false);
      assert.equal(x.has('trusted.overlay.opaque'), false);
    } finally {
      s2.cleanup();
    }
  });
});

describe('unpackLayer: hostile archives are rejected and contained', { skip: !isRoot && 'needs root' }, () => {
  it('refuses ../ paths that climb out', () => assertContained([{ name: '../../outside/pwned', body: 'x' }], 'HOSTILE'));
  it('refuses ../../etc/passwd', () => assertContained([{ name: '../../etc/passwd', body: 'root::0:0::/:/bin/sh\n' }], 'HOSTILE'));
  it('refuses a/../../ that climbs out after a real directory', () => assertContained([{ name: 'a/', type: 'directory' }, { name: 'a/../../outside/secret', body: 'x' }], 'HOSTILE'));

  it('contains absolute paths inside the layer', async () => {
    const sb = sandbox();
    try {
      const before = sb.outsideState();
      await unpack(sb, await makeTar([{ name: `/${sb.outside.slice(1)}/secret`, body: 'contained' }, { name: '/etc/passwd', body: 'contained' }]));
      assert.equal(readFileSync(join(sb.dest, sb.outside, 'secret'), 'utf8'), 'contained');
      assert.equal(readFileSync(join(sb.dest, 'etc/passwd'), 'utf8'), 'contained');
      assert.equal(sb.outsideState(), before);
    } finally {
      sb.cleanup();
    }
  });

  it('refuses a file written through a symlink planted earlier in the layer (relative)', () =>
    assertContained([{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/pwned', body: 'x' }], 'HOSTILE'));
  it('refuses a file written through a symlink planted earlier in the layer (absolute)', async () => {
    const sb = sandbox();
    sb.cleanup();
    await assertContained([{ name: 'evil', type: 'symlink', linkname: '/tmp' }, { name: 'evil/berth-pwned', body: 'x' }], 'HOSTILE');
    assert.ok(!existsSync('/tmp/berth-pwned'));
  });
  it('refuses a file written through a symlink deeper in the path', () =>
    assertContained([{ name: 'a/b/', type: 'directory' }, { name: 'a/b/c', type: 'symlink', linkname: '../../../outside' }, { name: 'a/b/c/etc/passwd', body: 'x' }], 'HOSTILE'));
  it('refuses a file written through a symlink from a lower layer (vfs copy)', () =>
    assertContained([{ name: 'lib/pwned', body: 'x' }], 'HOSTILE', { mode: 'apply' }, (sb) => symlinkSync(sb.outside, join(sb.dest, 'lib'))));
  it('refuses an opaque marker inside a symlinked directory (it would empty the target)', () =>
    assertContained([{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/.wh..wh..opq', body: '' }], 'HOSTILE', { mode: 'apply' }));
  it('refuses a whiteout through a symlinked directory (it would delete the target)', () =>
    assertContained([{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/.wh.secret', body: '' }], 'HOSTILE', { mode: 'apply' }));
  it('refuses a whiteout of ".."', () => assertContained([{ name: 'a/.wh...', body: '' }], 'HOSTILE', { mode: 'apply' }));

  it('replaces a planted symlink instead of writing through it', async () => {
    const sb = sandbox();
    try {
      const before = sb.outsideState();
      await unpack(sb, await makeTar([{ name: 's', type: 'symlink', linkname: '../outside/secret' }, { name: 's', body: 'mine' }, { name: 'l', type: 'link', linkname: 's' }, { name: 'l', body: 'also mine' }]));
      assert.equal(readFileSync(join(sb.dest, 's'), 'utf8'), 'mine');
      assert.equal(readFileSync(join(sb.dest, 'l'), 'utf8'), 'also mine');
      assert.equal(sb.outsideState(), before);
    } finally {
      sb.cleanup();
    }
  });

  it('refuses hardlinks to outside the layer', () => assertContained([{ name: 'pw', type: 'link', linkname: '../outside/secret' }], 'HOSTILE'));
  it('keeps absolute hardlink targets inside the layer', () => assertContained([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], 'FORMAT'));
  it('refuses hardlinks through a symlinked directory', () =>
    assertContained([{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'pw', type: 'link', linkname: 'evil/secret' }], 'HOSTILE'));

  it('refuses entries claiming absurd sizes before writing anything', async () => {
    const huge = Buffer.concat([rawHeader({ name: 'bomb', size: '77777777777' }), Buffer.alloc(1024)]);
    await assertContained(huge, 'LIMIT', { limits: { maxEntrySize: 1 << 30 } });
  });
  it('refuses huge PAX headers', async () => {
    const paxBomb = Buffer.concat([rawHeader({ name: 'PaxHeader', type: 'x', size: '00400000000' }), Buffer.alloc(4096)]);
    await assertContained(paxBomb, 'LIMIT');
  });
  it('refuses huge GNU long names', async () => {
    const bomb = Buffer.concat([rawHeader({ name: '././@LongLink', type: 'L', size: '00100000000' }), Buffer.alloc(4096)]);
    await assertContained(bomb, 'LIMIT');
  });
  it('caps the total uncompressed size (a gzip bomb)', async () => {
    const bomb = gzipSync(Buffer.concat([await makeTar([{ name: 'zeros', body: Buffer.alloc(8 << 20) }])]));
    assert.ok(bomb.length < 64 << 10);
    await assertContained(bomb, 'LIMIT', { limits: { maxTotalBytes: 1 << 20 } });
  });
  it('caps the number of entries', async () => {
    const many = await makeTar(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: '' })));
    await assertContained(many, 'LIMIT', { limits: { maxEntries: 10 } });
  });
  it('refuses sparse files, unknown types and corrupt headers', async () => {
    await assertContained(Buffer.concat([rawHeader({ name: 'sparse', type: 'S' }), Buffer.alloc(1024)]), 'FORMAT');
    await assertContained(Buffer.concat([rawHeader({ name: 'weird', type: 'Z' }), Buffer.alloc(1024)]), 'FORMAT');
    const bad = rawHeader({ name: 'x' });
    bad[0] = 0x79; // checksum no longer matches
    await assertContained(Buffer.concat([bad, Buffer.alloc(1024)]), 'FORMAT');
    await assertContained(Buffer.concat([rawHeader({ name: 'cut', size: '00000010000' }), Buffer.alloc(100)]), 'FORMAT');
  });
  it('refuses over-long names', async () => {
    await assertContained([{ name: 'x'.repeat(300), body: '' }], 'LIMIT');
    await assertContained([{ name: 'a/'.repeat(2100) + 'f', body: '' }], 'LIMIT');
  });
  it('keeps device nodes inside the layer directory, which is private', async () => {
    // a device node is only created under dest; the snapshotter's layer directories are 0700
    const sb = sandbox();
    try {
      await unpack(sb, await makeTar([{ name: 'disk', type: 'block-device', devmajor: 8, devminor: 0 }]));
      assert.ok(lstatSync(join(sb.dest, 'disk')).isBlockDevice());
    } finally {
      sb.cleanup();
    }
  });
});
