// `berth cp` (root): both ways, running and stopped containers, docker's path rules, tar streams,
// -a and -L, and a hostile container whose symlinks point at the host's /etc: reads and writes
// stay inside the container. Through the CLI and through the library.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { ok, testBerth } from '../helpers/berth-cli.js';

const t = testBerth('cp');
const rootfs = join(t.dir, 'rootfs');
const host = join(t.dir, 'host');
let lib: Berth;

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  writeFileSync(join(rootfs, 'etc/passwd'), 'container-passwd\n');
  mkdirSync(join(host, 'src/sub'), { recursive: true });
  writeFileSync(join(host, 'src/a.txt'), 'alpha\n');
  writeFileSync(join(host, 'src/sub/b.txt'), 'beta\n');
  symlinkSync('a.txt', join(host, 'src/link'));
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});

after(() => {
  lib.close();
  t.cleanup();
});

const cat = (name: string, path: string) => t.run(['exec', name, 'cat', path]);

describe('berth cp', () => {
  test('host to a running container and back: dirs, dir/., files, missing paths', () => {
    const name = t.uniq('cp');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sleep', '100']));
    // a directory into an existing directory lands inside it
    ok(t.run(['cp', join(host, 'src'), `${name}:/tmp`]));
    assert.equal(cat(name, '/tmp/src/sub/b.txt').stdout, 'beta\n');
    assert.equal(t.run(['exec', name, 'readlink', '/tmp/src/link']).stdout, 'a.txt\n');
    // to a missing path: the directory takes the new name; dir/. copies the contents
    ok(t.run(['cp', join(host, 'src'), `${name}:/tmp/renamed`]));
    assert.equal(cat(name, '/tmp/renamed/a.txt').stdout, 'alpha\n');
    ok(t.run(['exec', name, 'mkdir', '/tmp/into']));
    ok(t.run(['cp', join(host, 'src') + '/.', `${name}:/tmp/into`]));
    assert.equal(cat(name, '/tmp/into/a.txt').stdout, 'alpha\n');
    // file over file, file into a directory
    ok(t.run(['cp', join(host, 'src/sub/b.txt'), `${name}:/tmp/src/a.txt`]));
    assert.equal(cat(name, '/tmp/src/a.txt').stdout, 'beta\n');
    ok(t.run(['cp', join(host, 'src/sub/b.txt'), `${name}:/tmp/into/sub`]));
    assert.equal(cat(name, '/tmp/into/sub/b.txt').stdout, 'beta\n');
    // the container's root owns what is copied in (without -a)
    assert.equal(t.run(['exec', name, 'stat', '-c', '%u:%g', '/tmp/src/a.txt']).stdout, '0:0\n');
    // back to the host
    const out = join(t.dir, 'out1');
    ok(t.run(['cp', `${name}:/tmp/src`, out]));
    assert.equal(readFileSync(join(out, 'sub/b.txt'), 'utf8'), 'beta\n');
    assert.equal(readlinkSync(join(out, 'link')), 'a.txt');
    const out2 = join(t.dir, 'out2');
    mkdirSync(out2);
    ok(t.run(['cp', `${name}:/tmp/src/.`, out2]));
    assert.ok(existsSync(join(out2, 'a.txt')) && !existsSync(join(out2, 'src')));
    ok(t.run(['cp', `${name}:/tmp/src`, out2]));
    assert.ok(existsSync(join(out2, 'src/sub/b.txt')));
    // errors as docker's
    const miss = t.run(['cp', `${name}:/nope`, join(t.dir, 'x')]);
    assert.equal(miss.status, 1);
    assert.match(miss.stderr, new RegExp(`Could not find the file /nope in container ${name}`));
    const dirOverFile = t.run(['cp', join(host, 'src'), `${name}:/etc/passwd`]);
    assert.equal(dirOverFile.status, 1);
    assert.match(dirOverFile.stderr, /cannot copy a directory to a file/);
    const noDir = t.run(['cp', join(host, 'src/a.txt'), `${name}:/tmp/newdir/`]);
    assert.equal(noDir.status, 1);
    assert.match(noDir.stderr, /no such directory/);
    const both = t.run(['cp', `${name}:/a`, `${name}:/b`]);
    assert.equal(both.status, 125);
    assert.match(both.stderr, /copying between containers is not supported/);
    assert.equal(t.run(['cp', '/a', '/b']).status, 125);
    assert.equal(t.run(['cp', `${name}-nope:/a`, '/tmp/x']).status, 1);
    ok(t.run(['rm', '-f', name]));
  });

  test('tar streams on stdout and stdin, -a keeps owners, -L follows the source link', () => {
    const name = t.uniq('cpt');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sh', '-c', 'mkdir -p /data/d; echo one > /data/d/f; ln -s /data/d/f /data/lnk; sleep 100']));
    for (let i = 0; i < 50 && t.run(['exec', name, 'test', '-e', '/data/lnk']).status !== 0; i++) spawnSync('sleep', ['0.1']);
    const tar = t.runBytes(['cp', `${name}:/data/d`, '-']);
    assert.equal(tar.status, 0, tar.stderr);
    const list = spawnSync('tar', ['-t'], { input: tar.stdout, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.deepEqual(list, ['d/', 'd/f']);
    // a stream in, from the host's tar
    const made = spawnSync('tar', ['-c', '-C', host, 'src']);
    ok(t.run(['cp', '-', `${name}:/data`], { input: made.stdout }));
    assert.equal(cat(name, '/data/src/a.txt').stdout, 'alpha\n');
    const notDir = t.run(['cp', '-', `${name}:/data/d/f`], { input: made.stdout });
    assert.equal(notDir.status, 1);
    assert.match(notDir.stderr, /not a directory/);
    // -a: the host file's owner is kept
    const owned = join(t.dir, 'owned.txt');
    writeFileSync(owned, 'x');
    chownSync(owned, 1234, 4321);
    ok(t.run(['cp', '-a', owned, `${name}:/data/owned-a`]));
    ok(t.run(['cp', owned, `${name}:/data/owned`]));
    assert.equal(t.run(['exec', name, 'stat', '-c', '%u:%g', '/data/owned-a']).stdout, '1234:4321\n');
    assert.equal(t.run(['exec', name, 'stat', '-c', '%u:%g', '/data/owned']).stdout, '0:0\n');
    // -L: the link's target, not the link
    const l1 = join(t.dir, 'lnk-nofollow');
    const l2 = join(t.dir, 'lnk-follow');
    ok(t.run(['cp', `${name}:/data/lnk`, l1]));
    ok(t.run(['cp', '-L', `${name}:/data/lnk`, l2]));
    assert.ok(lstatSync(l1).isSymbolicLink());
    assert.equal(readFileSync(l2, 'utf8'), 'one\n');
    ok(t.run(['rm', '-f', name]));
  });

  test('a hostile container: symlinks to the host /etc resolve inside the container', () => {
    const name = t.uniq('evil');
    const marker = t.uniq('berth-cp-escape');
    ok(t.run(['run', '-d', '--name', name, '--rootfs', rootfs, 'sh', '-c', `ln -s /etc /tmp/abs; ln -s ../../../../../../../../etc /tmp/rel; ln -s /tmp/abs/passwd /tmp/pw; ln -s /etc/${marker}-3 /tmp/final; sleep 100`]));
    for (let i = 0; i < 50 && t.run(['exec', name, 'test', '-L', '/tmp/final']).status !== 0; i++) spawnSync('sleep', ['0.1']);
    const check = (state: string) => {
      for (const src of ['/tmp/abs/passwd', '/tmp/rel/passwd', '/tmp/pw']) {
        const out = join(t.dir, `${t.uniq('pw')}`);
        ok(t.run(['cp', '-L', `${name}:${src}`, out]), `${state} cp ${src}`);
        assert.equal(readFileSync(out, 'utf8'), 'container-passwd\n', `${state}: ${src} read the host's file`);
      }
      const payload = join(t.dir, 'payload');
      writeFileSync(payload, 'pwned\n');
      ok(t.run(['cp', payload, `${name}:/tmp/abs/${marker}`]));
      ok(t.run(['cp', payload, `${name}:/tmp/rel/${marker}-2`]));
      // a symlink as the last component (to a host path): followed inside the root, never out
      ok(t.run(['cp', payload, `${name}:/tmp/final`]));
      assert.ok(!existsSync(`/etc/${marker}`) && !existsSync(`/etc/${marker}-2`) && !existsSync(`/etc/${marker}-3`), `${state}: wrote into the host's /etc`);
      assert.equal(readFileSync(join(rootfs, 'etc', `${marker}-3`), 'utf8'), 'pwned\n');
      assert.equal(readFileSync(join(rootfs, 'etc', marker), 'utf8'), 'pwned\n');
      assert.ok(existsSync(join(rootfs, 'etc', `${marker}-2`)));
    };
    check('running');
    ok(t.run(['stop', '-t', '1', name]));
    check('stopped');
    ok(t.run(['rm', '-f', name]));
  });

  test('a stopped container, with a named volume', () => {
    const name = t.uniq('stopped');
    const vol = t.uniq('vol');
    ok(t.run(['create', '--name', name, '-v', `${vol}:/data`, '--rootfs', rootfs, 'cat', '/data/in.txt', '/etc/extra']));
    ok(t.run(['cp', join(host, 'src/a.txt'), `${name}:/data/in.txt`]));
    ok(t.run(['cp', join(host, 'src/sub/b.txt'), `${name}:/etc/extra`]));
    assert.equal(readFileSync(join(t.root, 'volumes', vol, '_data', 'in.txt'), 'utf8'), 'alpha\n');
    const r = t.run(['start', '-a', name]);
    ok(r);
    assert.equal(r.stdout, 'alpha\nbeta\n');
    const back = join(t.dir, 'from-volume');
    ok(t.run(['cp', `${name}:/data/in.txt`, back]));
    assert.equal(readFileSync(back, 'utf8'), 'alpha\n');
    ok(t.run(['rm', '-f', '-v', name]));
    ok(t.run(['volume', 'rm', vol]));
  });

  test('library: files.copyTo/copyFrom/getArchive/putArchive', async () => {
    const { id } = await lib.run({ rootfs, cmd: ['sleep', '100'], detach: true, name: t.uniq('lib') });
    try {
      await lib.files.copyTo(id, join(host, 'src'), '/tmp/lib');
      const back = join(t.dir, 'lib-back');
      await lib.files.copyFrom(id, '/tmp/lib/sub/b.txt', back);
      assert.equal(readFileSync(back, 'utf8'), 'beta\n');
      const chunks: Buffer[] = [];
      for await (const c of lib.files.getArchive(id, '/tmp/lib/a.txt')) chunks.push(c as Buffer);
      const tarred = Buffer.concat(chunks);
      assert.equal(spawnSync('tar', ['-xO'], { input: tarred, encoding: 'utf8' }).stdout, 'alpha\n');
      await lib.files.putArchive(id, '/tmp', Readable.from([tarred]));
      // read back through the CLI: the library's exec can lose output (its exit resolves before the pipes drain, reported)
      assert.equal(t.run(['exec', id, 'cat', '/tmp/a.txt']).stdout, 'alpha\n');
      await assert.rejects(lib.files.copyFrom(id, '/missing', back), /Could not find the file \/missing/);
      const errs: Error[] = [];
      const s = lib.files.getArchive(id, '/missing');
      s.on('error', (e) => errs.push(e));
      await new Promise((r) => s.on('close', r));
      assert.match(String(errs[0]), /Could not find the file/);
      assert.ok(statSync(back).isFile());
    } finally {
      await lib.remove(id, { force: true });
    }
  });
});
