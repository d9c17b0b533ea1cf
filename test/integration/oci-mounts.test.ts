// Mount details: --no-pivot, rootfsPropagation, recursive mount attributes, --preserve-fds.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BERTH_OCI, makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';

const made: Bundle[] = [];
const mounted: string[] = [];
after(() => {
  for (const m of mounted.reverse()) spawnSync('umount', ['-l', m]);
  made.forEach((b) => b.cleanup());
});

function bundle(args: string[], edit?: Parameters<typeof makeBundle>[1]): Bundle {
  const b = makeBundle(args, edit);
  made.push(b);
  return b;
}

test('--no-pivot runs the container with MS_MOVE + chroot', () => {
  const b = bundle(['sh', '-c', 'ls /; cat /proc/self/mountinfo | wc -l']);
  b.write();
  const r = oci(b, ['run', '--no-pivot', '--bundle', b.dir, b.id]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^bin$/m);
  assert.doesNotMatch(r.stdout, /^work$/m);
});

test('rootfsPropagation shared and private are applied to /', () => {
  for (const [prop, re] of [['rshared', /shared:\d+/], ['rprivate', /^((?!shared:).)*$/]] as const) {
    const b = bundle(['sh', '-c', 'awk \'$5 == "/"\' /proc/self/mountinfo'], (s) => (s.linux!.rootfsPropagation = prop));
    const r = runIn(b);
    assert.equal(r.status, 0, `${prop}: ${r.stderr}`);
    assert.match(r.stdout.trim(), re, `${prop}: ${r.stdout}`);
  }
});

test('rro makes a bind mount and its submounts read-only; plain ro only the top', () => {
  const b0 = bundle(['true']);
  const data = join(b0.dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(data, 'sub')]);
  mounted.push(join(data, 'sub'));
  const script = '(touch /d/top) 2>/dev/null && echo top-rw || echo top-ro; (touch /d/sub/x) 2>/dev/null && echo sub-rw || echo sub-ro';
  const rro = bundle(['sh', '-c', script], (s) => s.mounts!.push({ destination: '/d', type: 'bind', source: data, options: ['rbind', 'rro'] }));
  const r1 = runIn(rro);
  assert.equal(r1.status, 0, r1.stderr);
  assert.equal(r1.stdout, 'top-ro\nsub-ro\n');
  const ro = bundle(['sh', '-c', script], (s) => s.mounts!.push({ destination: '/d', type: 'bind', source: data, options: ['rbind', 'ro'] }));
  const r2 = runIn(ro);
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal(r2.stdout, 'top-ro\nsub-rw\n');
});

test('--preserve-fds passes extra descriptors; nothing else leaks', () => {
  const b = bundle(['sh', '-c', 'echo through-fd3 >&3; ls /proc/self/fd | sort -n | tr "\\n" " "']);
  const extra = join(b.dir, 'extra.txt');
  const fd = openSync(extra, 'w');
  const out = join(b.dir, 'out.txt');
  const ofd = openSync(out, 'w');
  const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '--preserve-fds', '1', '--bundle', b.dir, b.id], { stdio: ['ignore', ofd, ofd, fd] });
  closeSync(fd);
  closeSync(ofd);
  assert.equal(r.status, 0, readFileSync(out, 'utf8'));
  assert.equal(readFileSync(extra, 'utf8'), 'through-fd3\n');
  // 0 1 2 3 and the fd ls itself opens to read the directory
  assert.match(readFileSync(out, 'utf8'), /^0 1 2 3 \d+ $/);
});

test('mount options are applied: nosuid/nodev/noexec on a tmpfs', () => {
  const b = bundle(['sh', '-c', 'grep " /t " /proc/self/mountinfo | cut -d" " -f6'], (s) =>
    s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'ro'] }));
  const r = runIn(b);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split(',').sort(), ['nodev', 'noexec', 'nosuid', 'relatime', 'ro']);
});

void writeFileSync;
