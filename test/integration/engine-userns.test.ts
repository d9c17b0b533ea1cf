// `berth run --userns / --uidmap / --gidmap`: root inside is an unprivileged range outside, the
// image's files appear owned by root inside (idmapped layers of the overlay rootfs, an idmapped
// --rootfs directory), a file made on a -v bind mount is owned by the mapped host id, auto
// ranges are never shared and are released on rm, bad flags are refused with status 125.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeBusyboxRootfs, REPO } from '../helpers/bundle.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-userns-'));
chmodSync(dir, 0o711); // the container's root (an unmapped host id) passes through to its rootfs
const root = join(dir, 'root');
const stateRoot = `/run/berth-u${process.pid}`;
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
makeBusyboxRootfs(rootfs);
let n = 0;
const uniq = (p: string) => `${p}-${process.pid}-${n++}`;

function berth(args: string[]) {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const names: string[] = [];
after(() => {
  for (const nm of names) berth(['rm', '-f', nm]);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
  for (const m of mounts) spawnSync('umount', ['-l', m.split(' ')[4]!]);
  berth(['system', 'prune', '-f']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

const uidMap = (out: string) => out.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f.length === 3 && f[0] === '0');
const mountedUnder = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(p));

describe('berth run --userns', () => {
  test('auto with the host image: root inside, a private range outside, owners right, -v writes as the mapped id', () => {
    const vol = join(dir, 'vol');
    mkdirSync(vol);
    chmodSync(vol, 0o777);
    const name = uniq('ua');
    names.push(name);
    const r = berth(['run', '--rm', '--name', name, '--userns=auto', '-v', `${vol}:/vol`, 'host', 'sh', '-c', 'id; cat /proc/self/uid_map; ls -ln /bin/busybox; touch /vol/made']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^uid=0\(root\) gid=0\(root\)/);
    const map = uidMap(r.stdout);
    assert.ok(map, r.stdout);
    const start = Number(map[1]);
    assert.ok(start > 0, 'a non-zero host range');
    assert.equal(map[2], '65536');
    assert.match(r.stdout, /^-\S+\s+\d+\s+0\s+0\s.*\/bin\/busybox$/m, '/bin/busybox owned by 0:0 inside');
    const st = statSync(join(vol, 'made'));
    assert.equal(`${st.uid}:${st.gid}`, `${start}:${start}`, 'made on the bind mount as the mapped host id');
    assert.deepEqual(mountedUnder(root), [], 'the idmapped layers are unmounted after --rm');
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'userns-ranges.json'), 'utf8')), {}, 'the range is released');
  });

  test('two auto containers never share a range; auto:size=N; rm releases them', () => {
    const a = uniq('ub');
    const b = uniq('uc');
    names.push(a, b);
    assert.equal(berth(['run', '-d', '--name', a, '--userns=auto', 'host', 'sleep', '60']).status, 0);
    const rb = berth(['run', '-d', '--name', b, '--userns=auto:size=1000', 'host', 'sleep', '60']);
    assert.equal(rb.status, 0, rb.stderr);
    const ma = uidMap(berth(['exec', a, 'cat', '/proc/self/uid_map']).stdout)!;
    const mb = uidMap(berth(['exec', b, 'cat', '/proc/self/uid_map']).stdout)!;
    assert.equal(mb[2], '1000');
    const [sa, sb] = [Number(ma[1]), Number(mb[1])];
    assert.ok(sa + 65536 <= sb || sb + 1000 <= sa, `ranges overlap: ${ma} ${mb}`);
    const ls = berth(['exec', b, 'ls', '-ln', '/bin/busybox']);
    assert.match(ls.stdout, /\s0\s+0\s/);
    assert.equal(Object.keys(JSON.parse(readFileSync(join(root, 'userns-ranges.json'), 'utf8'))).length, 2);
    assert.equal(berth(['rm', '-f', a, b]).status, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'userns-ranges.json'), 'utf8')), {});
    assert.deepEqual(mountedUnder(root), []);
    assert.deepEqual(readdirSync(join(root, 'rootfs-mounts')), []);
  });

  test('a new named volume belongs to the container\'s root', () => {
    const name = uniq('uv');
    const vol = uniq('uvol');
    names.push(name);
    const r = berth(['run', '--rm', '--name', name, '--userns=auto', '-v', `${vol}:/data`, 'host', 'sh', '-c', 'touch /data/x && stat -c %u:%g /data /data/x']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0', '0:0']);
    assert.equal(berth(['volume', 'rm', vol]).status, 0);
  });

  test('--uidmap/--gidmap explicit, with a --rootfs directory (an idmapped mount)', () => {
    const name = uniq('ud');
    names.push(name);
    const r = berth(['run', '--rm', '--name', name, '--uidmap', '0:3300000:65536', '--gidmap', '0:3400000:65536', '--rootfs', rootfs,
      'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox; touch /made; stat -c %u:%g /made']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines, ['0 3300000 65536', '0 3400000 65536', '0:0', '0:0']);
    const st = statSync(join(rootfs, 'made'));
    assert.equal(`${st.uid}:${st.gid}`, '0:0', 'the rootfs keeps its on-disk owners');
  });

  test('bad flags: status 125 and a message naming the flag; nothing created', () => {
    const cases: [string[], RegExp][] = [
      [['--userns=bogus'], /invalid --userns "bogus": use host, auto or auto:size=N/],
      [['--userns=keep-id'], /keep-id is for rootless podman/],
      [['--userns=auto:size=0'], /size must be from 1/],
      [['--uidmap', '1:100000:10'], /--uidmap: container id 0 \(root\) must be mapped/],
      [['--uidmap', '0:100000:100', '--uidmap', '50:200000:10'], /container ranges overlap/],
      [['--uidmap', '0:x:1'], /invalid --uidmap "0:x:1": use CONTAINER_ID:HOST_ID:SIZE/],
      [['--userns=host', '--uidmap', '0:100000:10'], /conflicts with --uidmap/],
      [['--userns=auto', '--uidmap', '0:100000:10'], /conflicts with --uidmap/],
    ];
    for (const [flags, want] of cases) {
      const name = uniq('ue');
      const r = berth(['run', '--rm', '--name', name, ...flags, 'host', 'true']);
      assert.equal(r.status, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.notEqual(berth(['inspect', name]).status, 0);
    }
  });
});
