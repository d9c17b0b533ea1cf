// `cp` keeps extended attributes (root), as docker cp does through its tar stream: user.* and a
// binary's security.capability (set by setcap), on files and directories, host -> container,
// container -> host and through `cp ... -` tar streams (PAX SCHILY.xattr.*); security.selinux is
// not copied. Through the CLI and through the library. Attributes are read back with python's
// os.getxattr, not with berth's own helper.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('cpxattr');
let lib: Berth;
before(() => {
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});
after(() => lib.close());

/** Every xattr of path (not following a symlink), values as hex. */
function xattrs(path: string): Record<string, string> {
  const py = 'import os,sys,json; p=sys.argv[1]; print(json.dumps({n: os.getxattr(p, n, follow_symlinks=False).hex() for n in os.listxattr(p, follow_symlinks=False)}))';
  return JSON.parse(execFileSync('python3', ['-c', py, path], { encoding: 'utf8' })) as Record<string, string>;
}
function setXattr(path: string, name: string, value: string): void {
  execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)', path, name, value]);
}
const hex = (s: string) => Buffer.from(s).toString('hex');

const pidOf = (name: string) => Number(t.run(['inspect', '-f', '{{.State.Pid}}', name]).stdout.trim());

describe('cp keeps extended attributes', () => {
  let src: string;
  let cap: string;
  before(() => {
    src = join(t.dir, 'xsrc');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'd/bin'), 'not really a binary\n');
    execFileSync('setcap', ['cap_net_raw,cap_net_bind_service+ep', join(src, 'd/bin')]);
    setXattr(join(src, 'd/bin'), 'user.test', 'hello');
    setXattr(join(src, 'd'), 'user.dir', 'a directory');
    setXattr(join(src, 'd/bin'), 'security.selinux', 'system_u:object_r:bin_t:s0');
    cap = xattrs(join(src, 'd/bin'))['security.capability']!;
    assert.ok(cap, 'setcap set security.capability');
  });

  test('CLI: host -> container -> host, and tar streams both ways', () => {
    const name = t.uniq('cpx');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '300']));
    const inside = `/proc/${pidOf(name)}/root`;
    ok(t.run(['cp', join(src, 'd'), `${name}:/tmp/d`]));
    const got = xattrs(`${inside}/tmp/d/bin`);
    assert.equal(got['user.test'], hex('hello'));
    assert.equal(got['security.capability'], cap);
    assert.equal(got['security.selinux'], undefined, 'security.selinux is not copied');
    assert.equal(xattrs(`${inside}/tmp/d`)['user.dir'], hex('a directory'));
    // set inside, copied out
    ok(t.run(['exec', name, 'sh', '-c', 'echo out > /tmp/d/made']));
    setXattr(`${inside}/tmp/d/made`, 'user.inside', 'from the container');
    const out = join(t.dir, t.uniq('xout'));
    ok(t.run(['cp', `${name}:/tmp/d`, out]));
    assert.equal(xattrs(join(out, 'made'))['user.inside'], hex('from the container'));
    assert.equal(xattrs(join(out, 'bin'))['security.capability'], cap);
    assert.equal(xattrs(join(out, 'bin'))['user.test'], hex('hello'));
    assert.equal(xattrs(out)['user.dir'], hex('a directory'));
    // a tar stream out carries them as PAX SCHILY.xattr records (readable by GNU tar) ...
    const tar = t.runBytes(['cp', `${name}:/tmp/d`, '-']);
    assert.equal(tar.status, 0, tar.stderr);
    assert.ok(tar.stdout.includes(Buffer.from('SCHILY.xattr.user.test=hello\n')), 'PAX record of user.test');
    const untar = join(t.dir, t.uniq('untar'));
    mkdirSync(untar);
    const gnu = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-xf', '-', '-C', untar], { input: tar.stdout });
    assert.equal(gnu.status, 0, String(gnu.stderr));
    assert.equal(xattrs(join(untar, 'd/bin'))['user.test'], hex('hello'));
    assert.equal(xattrs(join(untar, 'd/bin'))['security.capability'], cap);
    // ... and a stream in sets them
    ok(t.run(['exec', name, 'mkdir', '/tmp/in']));
    const into = t.runBytes(['cp', '-', `${name}:/tmp/in`], { input: tar.stdout });
    assert.equal(into.status, 0, into.stderr);
    assert.equal(xattrs(`${inside}/tmp/in/d/bin`)['security.capability'], cap);
    assert.equal(xattrs(`${inside}/tmp/in/d/made`)['user.inside'], hex('from the container'));
    ok(t.run(['rm', '-f', name]));
  });

  test('library: copyTo, copyFrom, getArchive and putArchive keep them', async () => {
    const { id } = await lib.run({ rootfs, network: 'none', cmd: ['sleep', '300'], detach: true });
    const inside = `/proc/${pidOf(id)}/root`;
    await lib.files.copyTo(id, join(src, 'd/bin'), '/tmp/libbin');
    assert.equal(xattrs(`${inside}/tmp/libbin`)['user.test'], hex('hello'));
    assert.equal(xattrs(`${inside}/tmp/libbin`)['security.capability'], cap);
    const back = join(t.dir, t.uniq('libback'));
    await lib.files.copyFrom(id, '/tmp/libbin', back);
    assert.equal(xattrs(back)['security.capability'], cap);
    assert.equal(xattrs(back)['user.test'], hex('hello'));
    await lib.exec(id, { cmd: ['mkdir', '/tmp/pa'] });
    await lib.files.putArchive(id, '/tmp/pa', lib.files.getArchive(id, '/tmp/libbin'));
    assert.equal(xattrs(`${inside}/tmp/pa/libbin`)['security.capability'], cap);
    // a stopped container's files are copied from its root file system, with their attributes
    await lib.kill(id);
    await lib.wait(id);
    const stopped = join(t.dir, t.uniq('stopped'));
    await lib.files.copyFrom(id, '/tmp/libbin', stopped);
    assert.equal(xattrs(stopped)['user.test'], hex('hello'));
    await lib.remove(id, { force: true });
  });
});
