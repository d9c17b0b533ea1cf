import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseChallenges, pickChallenge } from '../../src/image/registry/challenge.js';
import {
  credentialKey, dockerConfigPath, readCredentials, removeCredentials, storeCredentials,
} from '../../src/image/registry/credentials.js';
import { mergeScopes, repositoryScope } from '../../src/image/registry/auth.js';
import { registryEndpoint, isLoopbackHost } from '../../src/image/registry/hosts.js';
import { backoffDelay, isRetryable, RegistryHttpError } from '../../src/image/registry/http.js';
import { loginHost } from '../../src/image/registry/login.js';
import { ProgressRenderer, progressBar } from '../../src/image/registry/progress.js';
import { IncompleteContentError, DigestMismatchError } from '../../src/image/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  dirs.push(d);
  return d;
}

describe('WWW-Authenticate parsing', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    const c = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    assert.deepEqual(c, [{
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    }]);
  });
  it('parses Basic, unquoted values, spaces and escapes', () => {
    assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    assert.deepEqual(parseChallenges('bearer  realm = https://x/t , service=svc'), [{ scheme: 'bearer', params: { realm: 'https://x/t', service: 'svc' } }]);
    assert.deepEqual(parseChallenges('Basic realm="a \\"quoted\\" realm"'), [{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
    assert.deepEqual(parseChallenges('Bearer scope="repository:a:pull,push repository:b:pull",realm="r"')[0]!.params, {
      scope: 'repository:a:pull,push repository:b:pull', realm: 'r',
    });
  });
  it('parses several challenges in one header and across headers; prefers Bearer', () => {
    const c = parseChallenges(['Basic realm="b", Bearer realm="https://t",service="s"', 'Negotiate abc==']);
    assert.deepEqual(c.map((x) => x.scheme), ['basic', 'bearer', 'negotiate']);
    assert.equal(c[2]!.params['token68'], 'abc==');
    assert.equal(pickChallenge(c)?.scheme, 'bearer');
    assert.equal(pickChallenge(parseChallenges('Basic realm="x"'))?.scheme, 'basic');
    assert.equal(pickChallenge(parseChallenges('Negotiate')), undefined);
  });
  it('survives garbage', () => {
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('"unterminated'), []);
    assert.equal(parseChallenges('Bearer realm="unterminated')[0]!.params['realm'], 'unterminated');
    assert.deepEqual(parseChallenges('x'.repeat(20000)), []);
  });
});

describe('scopes', () => {
  it('builds and merges repository scopes', () => {
    assert.equal(repositoryScope('ns/app', ['pull', 'push']), 'repository:ns/app:pull,push');
    assert.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull', 'repository:a:pull']), [
      'repository:a:pull,push', 'repository:b:pull',
    ]);
  });
});

describe('credentials in config.json', () => {
  it('finds the file from $DOCKER_CONFIG or HOME', () => {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/x' }), '/x/config.json');
    assert.equal(dockerConfigPath({ HOME: '/home/u' }), '/home/u/.docker/config.json');
  });
  it('reads base64 auth, username/password and identity tokens; Docker Hub by its legacy key', () => {
    const p = join(tmp(), 'config.json');
    writeFileSync(p, JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') },
        'localhost:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') },
        'https://reg.example.com/': { username: 'a', password: 'b' },
        'tok.example.com': { auth: Buffer.from('x:').toString('base64'), identitytoken: 'refresh' },
      },
    }));
    assert.deepEqual(readCredentials('docker.io', p), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(readCredentials('localhost:5000', p), { username: 'u', password: 'p:with:colons' });
    assert.deepEqual(readCredentials('reg.example.com', p), { username: 'a', password: 'b' });
    assert.deepEqual(readCredentials('tok.example.com', p), { username: 'x', password: '', identityToken: 'refresh' });
    assert.equal(readCredentials('other:5000', p), undefined);
    assert.equal(readCredentials('x', join(tmp(), 'missing.json')), undefined);
  });
  it('stores atomically with mode 0600, keeping other fields; removes', async () => {
    const p = join(tmp(), 'sub', 'config.json');
    await storeCredentials('localhost:5000', { username: 'u', password: 'p' }, p);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const cfg = JSON.parse(readFileSync(p, 'utf8'));
    assert.equal(cfg.auths['localhost:5000'].auth, Buffer.from('u:p').toString('base64'));
    writeFileSync(p, JSON.stringify({ ...cfg, proxies: { default: {} } }));
    await storeCredentials('docker.io', { username: 'h', password: 'q' }, p);
    await storeCredentials('localhost:5000', { username: 'u2', password: 'p2' }, p);
    const cfg2 = JSON.parse(readFileSync(p, 'utf8'));
    assert.deepEqual(Object.keys(cfg2.auths).sort(), ['https://index.docker.io/v1/', 'localhost:5000']);
    assert.deepEqual(cfg2.proxies, { default: {} });
    assert.deepEqual(readCredentials('localhost:5000', p), { username: 'u2', password: 'p2' });
    assert.equal(await removeCredentials('localhost:5000', p), true);
    assert.equal(await removeCredentials('localhost:5000', p), false);
    assert.equal(readCredentials('localhost:5000', p), undefined);
    assert.deepEqual(readCredentials('index.docker.io', p), { username: 'h', password: 'q' });
    assert.equal(statSync(p).mode & 0o777, 0o600);
  });
  it('reports a corrupt file clearly', () => {
    const p = join(tmp(), 'config.json');
    writeFileSync(p, '{not json');
    assert.throws(() => readCredentials('x', p), /config\.json: invalid JSON/);
  });
  it('keys and login hosts', () => {
    assert.equal(credentialKey('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(credentialKey('localhost:5000'), 'localhost:5000');
    assert.equal(loginHost(undefined), 'docker.io');
    assert.equal(loginHost('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(loginHost('http://LocalHost:5000/'), 'localhost:5000');
    assert.throws(() => loginHost('user@host'), /invalid registry address/);
  });
});

describe('registry endpoints', () => {
  it('plain HTTP first for loopback, HTTPS only elsewhere, both for insecure registries', () => {
    assert.deepEqual(registryEndpoint('127.0.0.1:5000', { certsDirs: [] }).schemes, ['http', 'https']);
    assert.deepEqual(registryEndpoint('localhost:5000', { certsDirs: [] }).schemes, ['http', 'https']);
    assert.deepEqual(registryEndpoint('[::1]:5000', { certsDirs: [] }).schemes, ['http', 'https']);
    assert.deepEqual(registryEndpoint('reg.example.com', { certsDirs: [] }).schemes, ['https']);
    const ins = registryEndpoint('reg.example.com:5000', { certsDirs: [], insecureRegistries: ['reg.example.com:5000'] });
    assert.deepEqual(ins.schemes, ['https', 'http']);
    assert.equal(ins.tls.rejectUnauthorized, false);
    assert.equal(registryEndpoint('docker.io', { certsDirs: [] }).apiHost, 'registry-1.docker.io');
    assert.ok(isLoopbackHost('127.1.2.3:80') && !isLoopbackHost('10.0.0.1'));
  });
  it('reads certs.d/<host>/ca.crt and client certificates; HTTPS then', () => {
    const d = tmp();
    const hostDir = join(d, '127.0.0.1:5001');
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, 'ca.crt'), 'CA-PEM');
    writeFileSync(join(hostDir, 'client.cert'), 'CERT');
    writeFileSync(join(hostDir, 'client.key'), 'KEY');
    const e = registryEndpoint('127.0.0.1:5001', { certsDirs: [d] });
    assert.deepEqual(e.schemes, ['https']);
    assert.ok(e.tls.ca!.some((c) => String(c) === 'CA-PEM'));
    assert.ok(e.tls.ca!.length > 1, 'the system roots stay');
    assert.equal(String(e.tls.cert), 'CERT');
    assert.equal(e.tls.rejectUnauthorized, true);
  });
});

describe('retries', () => {
  it('retries network trouble, 5xx, 429 and cut downloads; not 4xx nor bad digests', () => {
    assert.ok(isRetryable(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
    assert.ok(isRetryable(Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) })));
    assert.ok(isRetryable(new RegistryHttpError('x', 503)));
    assert.ok(isRetryable(new RegistryHttpError('x', 429)));
    assert.ok(isRetryable(new IncompleteContentError('sha256:x', 1, 2)));
    assert.ok(!isRetryable(new RegistryHttpError('x', 404)));
    assert.ok(!isRetryable(new DigestMismatchError('a', 'b')));
  });
  it('backs off exponentially, jittered and capped', () => {
    for (let i = 0; i < 50; i++) {
      const d1 = backoffDelay(1, 100, 1000);
      const d3 = backoffDelay(3, 100, 1000);
      const d9 = backoffDelay(9, 100, 1000);
      assert.ok(d1 >= 50 && d1 <= 100);
      assert.ok(d3 >= 200 && d3 <= 400);
      assert.ok(d9 >= 500 && d9 <= 1000);
    }
  });
});

describe('progress rendering', () => {
  const ev = { kind: 'layer' as const, id: 'abcdef123456', digest: 'sha256:abcdef123456', total: 2_000_000 };
  it('draws a docker-like bar', () => {
    assert.equal(progressBar(1_000_000, 2_000_000, 10), '[=====>    ]      1MB/2MB');
    assert.equal(progressBar(2_000_000, 2_000_000, 10), '[==========]      2MB/2MB');
  });
  it('prints status changes as plain lines when not a terminal', () => {
    let out = '';
    const r = new ProgressRenderer({ write: (s: string) => (out += s) });
    r.callback({ kind: 'message', text: 'latest: Pulling from x' });
    r.callback({ ...ev, status: 'waiting' });
    r.callback({ ...ev, status: 'downloading', current: 1 });
    r.callback({ ...ev, status: 'downloading', current: 2 });
    r.callback({ ...ev, status: 'done' });
    assert.equal(out, 'latest: Pulling from x\nabcdef123456: Waiting\nabcdef123456: Downloading\nabcdef123456: Pull complete\n');
  });
  it('redraws lines in place on a terminal', () => {
    let out = '';
    const r = new ProgressRenderer({ write: (s: string) => (out += s), isTTY: true });
    r.callback({ ...ev, status: 'waiting' });
    r.callback({ ...ev, id: 'second', status: 'waiting' });
    r.callback({ ...ev, status: 'downloading', current: 1_000_000 });
    assert.match(out, /\x1b\[2A\x1b\[2K\rabcdef123456: Downloading \[=+>/);
    assert.ok(out.endsWith('\n\x1b[1B'));
  });
});
