// `--platform` on `berth pull/run/create` against a real registry (Debian's docker-registry on
// 127.0.0.1) holding a two-platform index built here: the matching manifest is chosen, a
// platform the index lacks is a clear 125, a stored image of another platform is pulled again
// (or refused with --pull never), and a foreign-arch image runs with docker's warning. Both
// images carry the host's busybox (so the "arm64" one runs here) and a file naming the platform.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/bundle.js';
import { buildImage, buildIndex, busyboxLayerTar, haveRegistry, randomLayerTar, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { FileContentStore } from '../../src/image/content-store.js';
import { ImageStore } from '../../src/image/image-store.js';
import { push } from '../../src/image/registry/push.js';
import { hostPlatform } from '../../src/image/platform.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-platform-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-pf${process.pid}`;
const skip = !haveRegistry() ? 'docker-registry is not installed (scripts/setup-host.sh)' : hostPlatform().architecture !== 'amd64' ? 'the test images are amd64 + arm64: needs an amd64 host' : false;

function berth(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', input: '', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(args: string[]): { stdout: string; stderr: string } {
  const r = berth(args);
  assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const WARN = /WARNING: The requested image's platform \(linux\/arm64\) does not match the detected host platform \(linux\/amd64\)/;

describe('berth --platform', { skip, concurrency: false }, () => {
  let reg: TestRegistry;
  let name: string;

  before(async () => {
    reg = await startRegistry();
    const content = new FileContentStore(join(dir, 'src', 'content'));
    const images = new ImageStore(join(dir, 'src', 'images'), content);
    const amd = buildImage(content, [busyboxLayerTar(), randomLayerTar('amd64', 1000)], { platform: { os: 'linux', architecture: 'amd64' } });
    const arm = buildImage(content, [busyboxLayerTar(), randomLayerTar('arm64', 1000)], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const idx = buildIndex(content, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    name = `${reg.host}/multi/bb:${process.pid}`;
    await images.set(name, idx, { platform: { os: 'linux', architecture: 'amd64' } });
    await push(name, { content, images }, { anonymous: true });
  });

  after(async () => {
    const ids = berth(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) berth(['rm', '-f', ...ids]);
    const imgs = berth(['images', '-q']).stdout.split('\n').filter(Boolean);
    if (imgs.length) berth(['rmi', '-f', ...imgs]);
    const snaps = existsSync(join(root, 'storage', 'containers')) ? readdirSync(join(root, 'storage', 'containers')) : [];
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
    assert.deepEqual({ snaps, mounts }, { snaps: [], mounts: [] });
  });

  test('pull --platform picks that manifest from the index', () => {
    ok(['pull', '-q', '--platform', 'linux/arm64', name]);
    assert.equal(ok(['image', 'inspect', '-f', '{{.Architecture}}/{{.Variant}}', name]).stdout.trim(), 'arm64/v8');
  });

  test('running the foreign-arch image without --platform: docker\'s warning, then it runs', () => {
    const r = ok(['run', '--rm', name, 'ls', '/data']);
    assert.equal(r.stdout, 'arm64\n');
    assert.match(r.stderr, new RegExp(`${WARN.source} and no specific platform was requested`));
  });

  test('a stored image of another platform: refused with --pull never, pulled otherwise', () => {
    const never = berth(['create', '--pull', 'never', '--platform', 'linux/amd64', name, 'true']);
    assert.equal(never.status, 125, never.stderr);
    assert.match(never.stderr, /image with reference .*multi\/bb:\d+ was found but does not match the specified platform: wanted linux\/amd64, actual: linux\/arm64/);
    const r = ok(['run', '--rm', '--platform', 'linux/amd64', name, 'ls', '/data']);
    assert.equal(r.stdout, 'amd64\n');
    assert.doesNotMatch(r.stderr, /WARNING/);
    assert.equal(ok(['image', 'inspect', '-f', '{{.Architecture}}', name]).stdout.trim(), 'amd64');
  });

  test('run --platform of a foreign arch warns (without the "no platform requested" part)', () => {
    const r = ok(['run', '--rm', '--platform', 'linux/arm64/v8', name, 'ls', '/data']);
    assert.equal(r.stdout, 'arm64\n');
    assert.match(r.stderr, WARN);
    assert.doesNotMatch(r.stderr, /no specific platform was requested/);
  });

  test('a platform the index lacks, and a malformed one: 125 with a clear message, nothing created', () => {
    const before = ok(['ps', '-aq']).stdout;
    const missing = berth(['run', '--rm', '--platform', 'linux/s390x', name, 'true']);
    assert.equal(missing.status, 125, missing.stderr);
    assert.match(missing.stderr, /no manifest for platform linux\/s390x in the index \(it has: linux\/amd64, linux\/arm64\)/);
    const pulled = berth(['pull', '--platform', 'linux/s390x', name]);
    assert.equal(pulled.status, 1, 'docker pull fails with 1');
    assert.match(pulled.stderr, /no manifest for platform linux\/s390x/);
    const bad = berth(['create', '--platform', 'linux//arm64', name, 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /--platform: invalid platform "linux\/\/arm64": expected os\/arch\[\/variant\]/);
    assert.equal(ok(['ps', '-aq']).stdout, before);
  });

  test('the embedded host image serves only the host platform', () => {
    const before = ok(['ps', '-aq']).stdout;
    const r = berth(['run', '--rm', '--platform', 'linux/arm64', 'host', 'true']);
    assert.equal(r.status, 125, r.stderr);
    assert.match(r.stderr, /image with reference host was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
    assert.equal(ok(['run', '--rm', '--platform', 'linux/amd64', 'host', 'true']).stderr, '');
    assert.equal(ok(['ps', '-aq']).stdout, before);
  });
});
