// `berth` with images (root): the embedded host image, import, commit, diff, save/load, rmi,
// pull/push against a local registry, and a missing image (exit 125, nothing left). Own --root
// and --state-root; the end checks that no container, snapshot or mount is left.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBusyboxRootfs, REPO } from '../helpers/bundle.js';
import { haveRegistry, startRegistry, type TestRegistry } from '../helpers/registry.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-engine-images-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-i${process.pid}`;
const tag = `t${process.pid}`;

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function berth(args: string[], timeout = 30000): R {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', input: '', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[]): string {
  const r = berth(args);
  assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const snapshots = () => (existsSync(join(root, 'storage', 'containers')) ? readdirSync(join(root, 'storage', 'containers')) : []);
const ourMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));

describe('berth with images', { concurrency: false }, () => {
  before(() => {
    const rootfs = join(dir, 'busybox');
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
    const t = spawnSync('tar', ['-C', rootfs, '-cf', join(dir, 'busybox.tar'), '.']);
    assert.equal(t.status, 0, String(t.stderr));
  });

  after(() => {
    const ids = berth(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) berth(['rm', '-f', ...ids]);
    const imgs = berth(['images', '-q']).stdout.split('\n').filter(Boolean);
    if (imgs.length) berth(['rmi', '-f', ...imgs]);
    berth(['image', 'prune', '-f']);
    const left = { containers: ids.length ? berth(['ps', '-aq']).stdout : '', snapshots: snapshots(), mounts: ourMounts() };
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
    assert.deepEqual(left, { containers: '', snapshots: [], mounts: [] });
  });

  test('run --rm host: the host programs, a private writable layer, nothing left', () => {
    const r = berth(['run', '--rm', 'host', 'sh', '-c', 'echo hi > /etc/berth-test-file; cat /etc/berth-test-file; hostname']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^hi\n[0-9a-f]{12}\n$/);
    assert.equal(existsSync('/etc/berth-test-file'), false);
    assert.deepEqual(snapshots(), []);
  });

  test('diff of a host container lists only its own changes', () => {
    ok(['run', '--name', `h-${tag}`, 'host', 'sh', '-c', 'echo a > /etc/berth-zz; echo b > /tmp/q']);
    assert.equal(ok(['diff', `h-${tag}`]), 'C /etc\nA /etc/berth-zz\nC /tmp\nA /tmp/q\n');
    // commit onto the host's root file system is refused (it is not a layer): status 1 as docker commit's errors, no image made
    const c = berth(['commit', `h-${tag}`, `hc:${tag}`]);
    assert.equal(c.status, 1, c.stderr);
    assert.match(c.stderr, /runs the embedded image "host" .*not an image layer.*Create the container from a stored image/);
    assert.equal(berth(['image', 'inspect', `hc:${tag}`]).status, 1, 'no image was created');
    ok(['rm', `h-${tag}`]);
  });

  test('import a busybox rootfs, run it with the image settings and flags', () => {
    const id = ok(['import', join(dir, 'busybox.tar'), `bb:${tag}`]).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.match(ok(['images']), new RegExp(`^REPOSITORY\\s+TAG\\s+IMAGE ID\\s+CREATED\\s+SIZE\\n(.*\\n)*bb\\s+${tag}\\s+${id.slice(7, 19)}`, 'm'));
    assert.equal(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim(), `bb:${tag}`);
    assert.equal(ok(['images', '-q']).trim(), id.slice(7, 19));
    assert.equal(ok(['image', 'inspect', '-f', '{{.Id}}', `bb:${tag}`]).trim(), id);
    assert.equal(ok(['run', '--rm', '-e', 'FOO=bar', '-w', '/tmp', `bb:${tag}`, 'sh', '-c', 'echo $FOO $PWD']), 'bar /tmp\n');
    assert.match(ok(['history', `bb:${tag}`]), /berth import/);
  });

  test('commit a container, run the committed image; diff shows the change', () => {
    ok(['run', '--name', `c-${tag}`, `bb:${tag}`, 'sh', '-c', 'echo committed > /hello; rm /bin/true; mkdir -p /etc && echo x > /etc/hostname.new']);
    const d = ok(['diff', `c-${tag}`]);
    assert.match(d, /^A \/hello$/m);
    assert.match(d, /^D \/bin\/true$/m);
    assert.match(d, /^C \/bin$/m);
    const id = ok(['commit', `c-${tag}`, `bbc:${tag}`]).trim();
    assert.match(id, /^sha256:/);
    assert.equal(ok(['run', '--rm', `bbc:${tag}`, 'sh', '-c', 'cat /hello; test -e /bin/true || echo gone']), 'committed\ngone\n');
    // the base image is unchanged
    assert.equal(ok(['run', '--rm', `bb:${tag}`, 'sh', '-c', 'test -e /hello || echo clean']), 'clean\n');
    ok(['rm', `c-${tag}`]);
  });

  test('rmi is refused while a container uses the image; allowed after', () => {
    ok(['tag', `bbc:${tag}`, `bbd:${tag}`]);
    ok(['create', '--name', `u-${tag}`, `bbd:${tag}`, 'true']);
    ok(['rmi', `bbc:${tag}`]); // another name: only untagged
    const r = berth(['rmi', `bbd:${tag}`]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is using its referenced image|being used/);
    ok(['rm', `u-${tag}`]);
    assert.match(ok(['rmi', `bbd:${tag}`]), /Deleted: sha256:/);
  });

  test('save and load round trip', () => {
    const file = join(dir, 'bb.tar');
    ok(['save', '-o', file, `bb:${tag}`]);
    ok(['rmi', `bb:${tag}`]);
    assert.equal(berth(['image', 'inspect', `bb:${tag}`]).status, 1);
    assert.match(ok(['load', '-i', file]), new RegExp(`Loaded image: bb:${tag}`));
    assert.equal(ok(['run', '--rm', `bb:${tag}`, 'echo', 'loaded']), 'loaded\n');
  });

  test('push to and pull from a local registry, then run', { skip: haveRegistry() ? false : 'docker-registry is not installed' }, async () => {
    let reg: TestRegistry | undefined;
    try {
      reg = await startRegistry();
      const name = `${reg.host}/berth/bb:${tag}`;
      ok(['tag', `bb:${tag}`, name]);
      const p = berth(['push', name]);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /digest: sha256:[0-9a-f]{64} size: \d+/);
      ok(['rmi', name]);
      const r = berth(['run', '--rm', name, 'echo', 'pulled']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'pulled\n');
      assert.match(r.stderr, /Unable to find image .* locally/);
      ok(['rmi', name]);
      assert.match(ok(['pull', name]), new RegExp(name.replace(/[.]/g, '\\.')));
      ok(['rmi', name]);
    } finally {
      await reg?.stop();
    }
  });

  test('a missing image: exit 125, nothing created', () => {
    const before = ok(['ps', '-aq']);
    const r = berth(['run', '--name', `m-${tag}`, 'localhost:1/nope/missing:1', 'true']);
    assert.equal(r.status, 125, r.stderr);
    assert.match(r.stderr, /Unable to find image 'localhost:1\/nope\/missing:1' locally/);
    const c = berth(['create', '--pull', 'never', 'nosuchimage-berth']);
    assert.equal(c.status, 125);
    assert.match(c.stderr, /No such image: nosuchimage-berth/);
    assert.equal(ok(['ps', '-aq']), before);
    assert.equal(berth(['inspect', `m-${tag}`]).status, 1);
  });
});
