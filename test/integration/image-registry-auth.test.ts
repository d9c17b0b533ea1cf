// Registry authentication against real registries: htpasswd (Basic), Bearer tokens from a
// token server (anonymous and with credentials), login/logout with a docker-compatible
// config.json, and TLS with a custom CA.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileContentStore } from '../../src/image/content-store.js';
import { ImageStore } from '../../src/image/image-store.js';
import { pull, type Stores } from '../../src/image/registry/pull.js';
import { push } from '../../src/image/registry/push.js';
import { login, logout } from '../../src/image/registry/login.js';
import { AuthError } from '../../src/image/registry/auth.js';
import { buildImage, haveRegistry, randomLayerTar, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = haveRegistry() ? false : 'docker-registry is not installed (scripts/setup-host.sh)';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  dirs.push(d);
  return d;
}

function stores(): Stores {
  const root = tmp();
  const content = new FileContentStore(join(root, 'content'));
  return { content, images: new ImageStore(join(root, 'images'), content) };
}

const fast = { certsDirs: [] as string[], retryBaseMs: 10, retryMaxMs: 50 };

async function localImage(name: string): Promise<Stores & { digest: string }> {
  const s = stores();
  const img = buildImage(s.content, [randomLayerTar(name.replace(/\W/g, '_'), 30_000)]);
  await s.images.set(name, img.manifest);
  return { ...s, digest: img.manifest.digest };
}

describe('registry auth: htpasswd (Basic)', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'wonderland' } });
  });
  after(() => reg?.stop());

  it('refuses anonymous access, logs in (verified first), pushes and pulls, logs out', async () => {
    const cfg = join(tmp(), 'docker', 'config.json');
    const name = `${reg.host}/team/app:1`;
    const a = await localImage(name);
    await assert.rejects(push(name, a, { ...fast, dockerConfig: cfg }), (e: unknown) => e instanceof AuthError && /authentication required.*berth login/.test(e.message));

    await assert.rejects(login(reg.host, { username: 'alice', password: 'wrong' }, { ...fast, dockerConfig: cfg }), /refused the credentials/);
    assert.equal(existsSync(cfg), false, 'nothing stored for a failed login');
    const r = await login(`http://${reg.host}/`, { username: 'alice', password: 'wonderland' }, { ...fast, dockerConfig: cfg });
    assert.equal(r.status, 'Login Succeeded');
    assert.equal(statSync(cfg).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(cfg, 'utf8'));
    assert.equal(stored.auths[reg.host].auth, Buffer.from('alice:wonderland').toString('base64'));

    const pushed = await push(name, a, { ...fast, dockerConfig: cfg });
    assert.equal(pushed.digest, a.digest);
    const b = stores();
    assert.equal((await pull(name, b, { ...fast, dockerConfig: cfg })).digest, a.digest);
    await assert.rejects(pull(name, stores(), { ...fast, anonymous: true }), AuthError);

    assert.deepEqual(await logout(reg.host, { dockerConfig: cfg }), { host: reg.host, removed: true });
    assert.deepEqual(await logout(reg.host, { dockerConfig: cfg }), { host: reg.host, removed: false });
    await assert.rejects(pull(name, stores(), { ...fast, dockerConfig: cfg }), AuthError);
  });
});

describe('registry auth: Bearer tokens', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'token', users: { alice: 'secret' } });
  });
  after(() => reg?.stop());

  it('pulls anonymously where the token service allows it, pushes with credentials, mounts with a two-repository token', async () => {
    const creds = { username: 'alice', password: 'secret' };
    const pub = `${reg.host}/public/app:1`;
    const priv = `${reg.host}/private/app:1`;
    const a = await localImage(pub);
    await a.images.tag(pub, priv);

    await assert.rejects(push(pub, a, { ...fast, anonymous: true }), (e: unknown) => e instanceof AuthError);
    assert.ok(reg.token!.requests.some((r) => r.account === ''), 'an anonymous token was asked for');

    await push(pub, a, { ...fast, credentials: creds });
    const mounted = await push(priv, a, { ...fast, credentials: creds });
    assert.equal(mounted.mounted, 2, 'config and layer mounted from public/app');
    assert.ok(reg.token!.requests.some((r) => r.account === 'alice' && r.scopes.includes('repository:private/app:pull,push') && r.scopes.includes('repository:public/app:pull')));

    const anon = stores();
    assert.equal((await pull(pub, anon, { ...fast, anonymous: true })).digest, a.digest);
    await assert.rejects(pull(priv, stores(), { ...fast, anonymous: true }), AuthError);
    const withCreds = stores();
    assert.equal((await pull(priv, withCreds, { ...fast, credentials: creds })).digest, a.digest);
  });

  it('login goes through the token service', async () => {
    const cfg = join(tmp(), 'config.json');
    await assert.rejects(login(reg.host, { username: 'alice', password: 'nope' }, { ...fast, dockerConfig: cfg }), /token service .* refused the credentials for alice/);
    assert.equal((await login(reg.host, { username: 'alice', password: 'secret' }, { ...fast, dockerConfig: cfg })).status, 'Login Succeeded');
    const name = `${reg.host}/private/fromconfig:1`;
    const a = await localImage(name);
    await push(name, a, { ...fast, dockerConfig: cfg });
  });
});

describe('registry over TLS with a custom CA', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ tls: true });
  });
  after(() => reg?.stop());

  it('trusts certs.d/<host>/ca.crt or a given CA, and refuses an unknown CA', async () => {
    const certsD = tmp();
    mkdirSync(join(certsD, reg.host));
    copyFileSync(reg.caFile!, join(certsD, reg.host, 'ca.crt'));
    const name = `${reg.host}/tls/app:1`;
    const a = await localImage(name);
    await push(name, a, { ...fast, anonymous: true, certsDirs: [certsD] });
    const b = stores();
    assert.equal((await pull(name, b, { ...fast, anonymous: true, ca: [readFileSync(reg.caFile!)] })).digest, a.digest);
    await assert.rejects(pull(name, stores(), { ...fast, anonymous: true, retries: 0 }), /cannot reach the registry 127\.0\.0\.1:\d+: .*(certificate|self.signed)/i);
    // marked insecure: TLS without verification
    const c = stores();
    assert.equal((await pull(name, c, { ...fast, anonymous: true, insecureRegistries: [reg.host] })).digest, a.digest);
  });
});
