// `berth cp` (root), what docker's archive does beyond files: device nodes and fifos are copied
// into a container and carried by the tar stream, but device nodes are NOT created on the host
// (stricter than docker: a warning names each one skipped; fifos are copied), sockets skipped, hard links stay links within one copy (both ways); a stopped container's
// volumes and bind mounts below the destination are written and read in place of their empty
// mount points (also where the mount point is a symlink, and nested), and symlinks planted
// inside a volume still resolve inside the container. Through the CLI and the library.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { ok, testBerth } from '../helpers/berth-cli.js';

const t = testBerth('cpn');
const rootfs = join(t.dir, 'rootfs');
const src = join(t.dir, 'nodes');
let lib: Berth;
let server: Server;

/** major:minor of a device (Linux dev_t). */
const mm = (rdev: number) => `${((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;

before(async () => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  mkdirSync(join(src, 'sub'), { recursive: true });
  execFileSync('mknod', ['-m', '0640', join(src, 'null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '0600', join(src, 'bigminor'), 'c', '4', '300']); // minor > 255: the high dev_t bits
  execFileSync('mknod', ['-m', '0600', join(src, 'blk'), 'b', '7', '200']);
  execFileSync('mkfifo', ['-m', '0620', join(src, 'fifo')]);
  writeFileSync(join(src, 'data'), 'linked\n');
  linkSync(join(src, 'data'), join(src, 'sub/data-link'));
  linkSync(join(src, 'data'), join(src, 'data-link2'));
  server = createServer();
  await new Promise<void>((res) => server.listen(join(src, 'sock'), res));
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});

after(async () => {
  lib.close();
  await new Promise((res) => server.close(res));
  t.cleanup();
});

/** What the copy should have made of `src` under dir: devices only inside a container (onHost: none). */
function checkHostCopy(dir: string, onHost: boolean): void {
  const st = (n: string) => lstatSync(join(dir, n));
  if (onHost) {
    for (const n of ['null', 'bigminor', 'blk']) assert.ok(!existsSync(join(dir, n)), `device node ${n} is not created on the host`);
  } else {
    assert.ok(st('null').isCharacterDevice(), 'null is a char device');
    assert.equal(mm(st('null').rdev), '1:3');
    assert.equal(st('null').mode & 0o7777, 0o640);
    assert.equal(mm(st('bigminor').rdev), '4:300');
    assert.ok(st('blk').isBlockDevice());
    assert.equal(mm(st('blk').rdev), '7:200');
  }
  assert.ok(st('fifo').isFIFO());
  assert.equal(st('fifo').mode & 0o7777, 0o620);
  assert.ok(!existsSync(join(dir, 'sock')), 'a socket is skipped');
  assert.equal(st('data').ino, st('sub/data-link').ino, 'hard links stay links');
  assert.equal(st('data').ino, st('data-link2').ino);
  assert.equal(st('data').nlink, 3);
  assert.equal(readFileSync(join(dir, 'sub/data-link'), 'utf8'), 'linked\n');
}

describe('berth cp: special files and mounts', () => {
  test('devices, fifos, hard links and sockets, both ways, running and stopped', () => {
    const name = t.uniq('nodes');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sleep', '100']));
    ok(t.run(['cp', src, `${name}:/tmp/in`]));
    // inside the container: the same nodes (busybox stat: type, major/minor in hex, links, inode)
    const stat = (p: string) => t.run(['exec', name, 'stat', '-c', '%F %t:%T %h %i', p]).stdout.trim();
    assert.match(stat('/tmp/in/null'), /^character special file 1:3 1 /);
    assert.match(stat('/tmp/in/bigminor'), /^character special file 4:12c /);
    assert.match(stat('/tmp/in/blk'), /^block special file 7:c8 /);
    assert.match(stat('/tmp/in/fifo'), /^fifo /);
    assert.equal(t.run(['exec', name, 'test', '-e', '/tmp/in/sock']).status, 1, 'a socket is skipped');
    const ino = (p: string) => stat(p).split(' ').slice(-2).join(' ');
    assert.equal(ino('/tmp/in/data'), ino('/tmp/in/sub/data-link'));
    assert.equal(ino('/tmp/in/data'), '3 ' + ino('/tmp/in/data').split(' ')[1]);
    // and back out, from the running container and from the stopped one
    const out = join(t.dir, t.uniq('out'));
    const r1 = t.run(['cp', `${name}:/tmp/in`, out]);
    ok(r1);
    checkHostCopy(out, true);
    for (const n of ['null', 'bigminor', 'blk']) assert.match(r1.stderr, new RegExp(`WARNING: cp: skipped device node \\S*/${n}\\b`), r1.stderr);
    assert.doesNotMatch(r1.stderr, /fifo/);
    ok(t.run(['stop', '-t', '1', name]));
    const out2 = join(t.dir, t.uniq('out'));
    const r2 = t.run(['cp', `${name}:/tmp/in`, out2]);
    ok(r2);
    checkHostCopy(out2, true);
    assert.match(r2.stderr, /skipped device node \S*\/blk\b/);
    // a tar stream keeps them too (docker's archive: "1" hard links, "3"/"4" devices, "6" fifo)
    const tar = t.runBytes(['cp', `${name}:/tmp/in/.`, '-']);
    assert.equal(tar.status, 0, tar.stderr);
    const list = spawnSync('tar', ['-tv'], { input: tar.stdout, encoding: 'utf8' }).stdout;
    assert.match(list, /^c.* 1,3 .*null$/m);
    assert.match(list, /^b.* 7,200 .*blk$/m);
    assert.match(list, /^p.* fifo$/m);
    assert.match(list, /^h.* (sub\/data-link link to data|data-link2 link to data)$/m);
    ok(t.run(['rm', '-f', name]));
  });

  test('a stopped container: volumes and binds below the destination, nested, behind a symlink', () => {
    const name = t.uniq('mnt');
    const vol = t.uniq('vol');
    const vol2 = t.uniq('vol2');
    const bind = join(t.dir, t.uniq('bind'));
    mkdirSync(bind);
    const rfs = join(t.dir, t.uniq('rootfs'));
    mkdirSync(rfs);
    makeBusyboxRootfs(rfs);
    mkdirSync(join(rfs, 'srv/real'), { recursive: true });
    symlinkSync('/srv/real', join(rfs, 'lnk')); // the mount point /lnk is a symlink: the runtime mounts on /srv/real
    ok(t.run(['create', '--name', name, '-v', `${vol}:/data`, '-v', `${bind}:/data/bind`, '-v', `${vol2}:/lnk`, '--rootfs', rfs,
      'sh', '-c', 'cat /data/top.txt /data/bind/b.txt /srv/real/r.txt; stat -c %i /data/h1 /data/bind/h2']));
    const volDir = (v: string) => join(t.root, 'volumes', v, '_data');
    // a tree copied to "/": its data/ part goes into the volume, data/bind/ into the bind mount
    const tree = join(t.dir, t.uniq('tree'));
    mkdirSync(join(tree, 'data/bind'), { recursive: true });
    mkdirSync(join(tree, 'srv/real'), { recursive: true });
    writeFileSync(join(tree, 'data/top.txt'), 'top\n');
    writeFileSync(join(tree, 'data/bind/b.txt'), 'bound\n');
    writeFileSync(join(tree, 'srv/real/r.txt'), 'real\n');
    writeFileSync(join(tree, 'data/h1'), 'same\n');
    linkSync(join(tree, 'data/h1'), join(tree, 'data/bind/h2')); // a hard link across two mounts: copied
    ok(t.run(['cp', tree + '/.', `${name}:/`]));
    assert.equal(readFileSync(join(volDir(vol), 'top.txt'), 'utf8'), 'top\n');
    assert.equal(readFileSync(join(bind, 'b.txt'), 'utf8'), 'bound\n');
    assert.equal(readFileSync(join(volDir(vol2), 'r.txt'), 'utf8'), 'real\n');
    assert.equal(readFileSync(join(bind, 'h2'), 'utf8'), 'same\n');
    assert.ok(!existsSync(join(rfs, 'data/top.txt')) && !existsSync(join(rfs, 'data/bind/b.txt')) && !existsSync(join(rfs, 'srv/real/r.txt')), 'wrote under the empty mount points');
    // the container sees the same files where the runtime mounts them
    const r = t.run(['start', '-a', name]);
    ok(r);
    assert.match(r.stdout, /^top\nbound\nreal\n\d+\n\d+\n$/);
    // out of the stopped container: from the mounts, nested ones included
    writeFileSync(join(bind, 'host-made.txt'), 'from the host\n');
    const out = join(t.dir, t.uniq('out'));
    ok(t.run(['cp', `${name}:/data`, out]));
    assert.equal(readFileSync(join(out, 'top.txt'), 'utf8'), 'top\n');
    assert.equal(readFileSync(join(out, 'bind/host-made.txt'), 'utf8'), 'from the host\n');
    const one = join(t.dir, t.uniq('one'));
    ok(t.run(['cp', `${name}:/lnk/r.txt`, one]));
    assert.equal(readFileSync(one, 'utf8'), 'real\n');
    ok(t.run(['rm', '-f', '-v', name]));
    ok(t.run(['volume', 'rm', vol, vol2]));
    rmSync(rfs, { recursive: true, force: true });
  });

  test('a stopped container: symlinks planted in a volume stay inside the container', () => {
    const name = t.uniq('volesc');
    const vol = t.uniq('vol');
    const marker = t.uniq('berth-cp-volesc');
    ok(t.run(['run', '--name', name, '-v', `${vol}:/data`, '--rootfs', rootfs, 'sh', '-c',
      'ln -s /etc /data/abs; ln -s ../../../../../../etc /data/rel; ln -s /etc/passwd /data/pw; mkdir /data/d; ln -s ../../../../etc /data/d/up']));
    const payload = join(t.dir, t.uniq('payload'));
    writeFileSync(payload, 'pwned\n');
    for (const [i, via] of ['/data/abs', '/data/rel', '/data/d/up'].entries()) ok(t.run(['cp', payload, `${name}:${via}/${marker}-${i}`]), via);
    for (let i = 0; i < 3; i++) {
      assert.ok(!existsSync(`/etc/${marker}-${i}`), `wrote into the host's /etc through a link in the volume (${i})`);
      assert.equal(readFileSync(join(rootfs, 'etc', `${marker}-${i}`), 'utf8'), 'pwned\n');
    }
    const back = join(t.dir, t.uniq('pw'));
    ok(t.run(['cp', '-L', `${name}:/data/pw`, back]));
    assert.equal(readFileSync(back, 'utf8'), readFileSync(join(rootfs, 'etc/passwd'), 'utf8'));
    ok(t.run(['rm', '-f', '-v', name]));
    for (let i = 0; i < 3; i++) rmSync(join(rootfs, 'etc', `${marker}-${i}`));
  });

  test('library: copyTo keeps devices, copyFrom skips them; fifos and hard links both ways; into a stopped container\'s volume', async () => {
    const vol = t.uniq('lvol');
    const { id } = await lib.run({ rootfs, cmd: ['true'], name: t.uniq('lib'), volumes: [`${vol}:/data`] });
    try {
      await lib.files.copyTo(id, src, '/data');
      const inVol = join(t.root, 'volumes', vol, '_data', 'nodes');
      checkHostCopy(inVol, false);
      const back = join(t.dir, t.uniq('lib-back'));
      await lib.files.copyFrom(id, '/data/nodes', back);
      checkHostCopy(back, true);
      assert.ok(statSync(join(back, 'data')).isFile());
    } finally {
      await lib.remove(id, { force: true, volumes: true });
    }
  });
});
