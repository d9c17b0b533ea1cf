// The netns helper starts before the address is allocated (manager.ts attach, links.ts
// startNetns): a start whose attach fails after that -- here a /30 network with its one address
// taken -- must end the helper with its netns made and have the engine remove it: no netns file,
// mount, owner file or veth of the failed container is left, and a later start of the same
// container (the address freed) gets its network. Root, real containers; unique names.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { vethName } from '../../src/network/links.js';
import { REPO } from '../helpers/bundle.js';
import { subnetPicker } from '../helpers/network.js';

const BERTH = join(REPO, 'bin', 'berth');
const TAG = `ee${(process.pid % 1296).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-early-netns-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-ee${process.pid}`;
const NETNS_DIR = '/run/berth/network/netns';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ok = (r: ReturnType<typeof cli>, what: string) => {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};
const mounted = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

describe('the netns helper started before the address (issue 7)', () => {
  const net = `${TAG}-n`;
  after(() => {
    cli(['rm', '-f', `${TAG}-a`, `${TAG}-b`]);
    cli(['network', 'rm', net]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('an attach failing after the helper started leaves nothing; the next start works', () => {
    // a /30: the gateway and one container address
    const netId = ok(cli(['network', 'create', '--subnet', subnetPicker(170, 40)(30), net]), 'network create');
    ok(cli(['run', '-d', '--name', `${TAG}-a`, '--network', net, 'host', 'sleep', '300']), 'run a');
    const b = ok(cli(['create', '--name', `${TAG}-b`, '--network', net, 'host', 'sh', '-c', 'ip -4 -o addr show eth0']), 'create b');
    const failed = cli(['start', '-a', b]);
    assert.notEqual(failed.status, 0, 'start of b with no free address');
    assert.match(failed.stderr, /no free address/);
    const path = join(NETNS_DIR, b);
    assert.equal(existsSync(path), false, 'the netns file of the failed start is removed');
    assert.equal(mounted(path), false, 'the netns of the failed start is unmounted');
    assert.equal(existsSync(`${path}.owner`), false, 'no owner file is left');
    assert.equal(existsSync(`${path}.starting`), false, 'no start marker is left');
    assert.equal(linkExists(vethName('bv', netId, b)), false, 'no host veth is left');
    // a's address back: b starts on the same container record, with the address a had
    ok(cli(['rm', '-f', `${TAG}-a`]), 'rm a');
    const out = ok(cli(['start', '-a', b]), 'start b again');
    assert.match(out, /eth0\s+inet \d+\.\d+\.\d+\.\d+\/30/);
    ok(cli(['rm', '-f', b]), 'rm b');
    assert.equal(existsSync(path), false, 'the netns is released with the container');
    assert.equal(mounted(path), false);
  });
});
