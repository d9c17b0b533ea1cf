import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LIMITS, checkConfigMatchesManifest, parseImageConfig, parseImageIndex, parseManifest, selectManifest,
} from '../../src/image/manifest.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformMatches } from '../../src/image/platform.js';
import { ManifestError } from '../../src/image/errors.js';
import { MEDIA, type Descriptor, type ImageIndex } from '../../src/image/types.js';
import { digestOf } from '../../src/image/digest.js';

const dg = (s: string) => digestOf(s);
const desc = (mediaType: string, s: string, extra: Partial<Descriptor> = {}): Descriptor => ({ mediaType, digest: dg(s), size: s.length, ...extra });

function ociManifest(layers = 2): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: desc(MEDIA.ociConfig, 'config'),
    layers: Array.from({ length: layers }, (_, i) => desc(MEDIA.ociLayerGzip, `layer${i}`)),
  };
}

function index(platforms: [string, string, string?][], mt: string = MEDIA.ociIndex): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: mt,
    manifests: platforms.map(([os, architecture, variant], i) =>
      desc(MEDIA.ociManifest, `m${i}`, { platform: { os, architecture, ...(variant ? { variant } : {}) } }),
    ),
  };
}

function err(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ManifestError, `expected ManifestError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

describe('parseManifest', () => {
  it('parses OCI and Docker manifests', () => {
    const p = parseManifest(JSON.stringify(ociManifest()));
    assert.equal(p.kind, 'manifest');
    if (p.kind === 'manifest') assert.equal(p.manifest.layers.length, 2);
    const docker = {
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: desc(MEDIA.dockerConfig, 'c'),
      layers: [desc(MEDIA.dockerLayerGzip, 'l')],
    };
    const d = parseManifest(Buffer.from(JSON.stringify(docker)));
    assert.equal(d.mediaType, MEDIA.dockerManifest);
  });

  it('parses indexes and manifest lists', () => {
    const p = parseManifest(JSON.stringify(index([['linux', 'amd64']], MEDIA.dockerManifestList)));
    assert.equal(p.kind, 'index');
    assert.equal(parseImageIndex(JSON.stringify(index([['linux', 'arm64']]))).manifests.length, 1);
  });

  it('detects the kind without a mediaType field (OCI allows that), from the Content-Type or the shape', () => {
    const m = ociManifest();
    delete m['mediaType'];
    assert.equal(parseManifest(JSON.stringify(m)).kind, 'manifest');
    assert.equal(parseManifest(JSON.stringify(m), `${MEDIA.ociManifest}; charset=utf-8`).mediaType, MEDIA.ociManifest);
    const i: Record<string, unknown> = { ...index([['linux', 'amd64']]) };
    delete i['mediaType'];
    assert.equal(parseManifest(JSON.stringify(i)).kind, 'index');
  });

  it('rejects schema 1, unknown types and mismatched headers', () => {
    err(() => parseManifest(JSON.stringify({ schemaVersion: 1, name: 'x' })), /schema 1 is deprecated/);
    err(() => parseManifest(JSON.stringify(ociManifest()), 'application/vnd.docker.distribution.manifest.v1+prettyjws'), /schema 1/);
    err(() => parseManifest(JSON.stringify({ ...ociManifest(), mediaType: 'text/plain' })), /unsupported media type/);
    err(() => parseManifest(JSON.stringify(ociManifest()), MEDIA.dockerManifest), /differs from the Content-Type/);
    err(() => parseManifest(JSON.stringify({ ...ociManifest(), schemaVersion: 3 })), /schemaVersion: expected 2/);
  });

  it('names the bad field', () => {
    const m = ociManifest();
    (m['layers'] as Descriptor[])[1]!.digest = 'sha256:xyz';
    err(() => parseManifest(JSON.stringify(m)), /layers\[1\]\.digest: invalid sha256 digest/);
    const m2 = ociManifest();
    (m2['layers'] as Record<string, unknown>[])[0]!['size'] = -1;
    err(() => parseManifest(JSON.stringify(m2)), /layers\[0\]\.size: expected a non-negative integer/);
    const m3 = ociManifest();
    (m3['layers'] as Record<string, unknown>[])[0]!['size'] = 2 ** 60;
    err(() => parseManifest(JSON.stringify(m3)), /layers\[0\]\.size/);
    const m4 = ociManifest();
    (m4['layers'] as Descriptor[])[0]!.mediaType = MEDIA.ociConfig;
    err(() => parseManifest(JSON.stringify(m4)), /layers\[0\]\.mediaType: not a layer media type/);
    const m5 = ociManifest();
    delete m5['config'];
    err(() => parseManifest(JSON.stringify(m5)), /config/);
    const i = index([['linux', 'amd64']]) as unknown as { manifests: Record<string, unknown>[] };
    i.manifests[0]!['platform'] = { os: 'linux' };
    err(() => parseManifest(JSON.stringify(i)), /manifests\[0\]\.platform\.architecture: missing/);
    err(() => parseManifest('{"schemaVersion":2,'), /invalid JSON/);
    err(() => parseManifest('[1,2]'), /expected a JSON object/);
  });

  it('enforces limits: size, layer count, index entries, nesting', () => {
    err(() => parseManifest(Buffer.alloc(LIMITS.manifestBytes + 1, 32)), /too large/);
    err(() => parseManifest(JSON.stringify(ociManifest(LIMITS.layers + 1))), /layers: 1001 layers/);
    const big = index(Array.from({ length: LIMITS.indexEntries + 1 }, () => ['linux', 'amd64'] as [string, string]));
    err(() => parseManifest(JSON.stringify(big)), /manifests: 1001 entries/);
    const deep = `{"schemaVersion":2,"x":${'['.repeat(100)}${']'.repeat(100)}}`;
    err(() => parseManifest(deep), /nested deeper/);
    // brackets inside strings do not count
    const m = ociManifest();
    m['annotations'] = { a: '['.repeat(200) };
    assert.equal(parseManifest(JSON.stringify(m)).kind, 'manifest');
  });
});

describe('parseImageConfig', () => {
  const good = {
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
    rootfs: { type: 'layers', diff_ids: [dg('a'), dg('b')] },
    history: [{ created_by: 'x' }, { created_by: 'y', empty_layer: true }],
    extra_field: 1,
  };
  it('accepts a valid config and keeps unknown fields', () => {
    const c = parseImageConfig(JSON.stringify(good));
    assert.equal(c.rootfs.diff_ids.length, 2);
    assert.equal((c as unknown as Record<string, unknown>)['extra_field'], 1);
  });
  it('rejects bad fields with their path', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...good, architecture: 1 }, /architecture: expected a string/],
      [{ ...good, os: undefined }, /os: missing/],
      [{ ...good, rootfs: { type: 'tar', diff_ids: [] } }, /rootfs\.type: expected "layers"/],
      [{ ...good, rootfs: { type: 'layers', diff_ids: ['x'] } }, /rootfs\.diff_ids\[0\]/],
      [{ ...good, config: { Env: 'PATH=/bin' } }, /config\.Env: expected an array/],
      [{ ...good, config: { Cmd: [1] } }, /config\.Cmd\[0\]/],
      [{ ...good, config: { Labels: { a: 1 } } }, /config\.Labels\.a/],
      [{ ...good, history: [{ empty_layer: 'yes' }] }, /history\[0\]\.empty_layer/],
    ];
    for (const [c, re] of cases) err(() => parseImageConfig(JSON.stringify(c)), re);
    err(() => parseImageConfig(Buffer.alloc(LIMITS.configBytes + 1, 32)), /too large/);
  });
  it('checks the layer count against the manifest', () => {
    const c = parseImageConfig(JSON.stringify(good));
    const m = parseManifest(JSON.stringify(ociManifest(3)));
    if (m.kind !== 'manifest') assert.fail();
    err(() => checkConfigMatchesManifest(c, m.manifest), /lists 2 layers but the manifest has 3/);
  });
});

describe('platforms', () => {
  it('normalises names', () => {
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'aarch64', variant: 'v8' }), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '6' }), { os: 'linux', architecture: 'arm', variant: 'v6' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'i386' }), { os: 'linux', architecture: '386' });
  });
  it('parses --platform', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
    assert.deepEqual(parsePlatform('amd64'), { os: 'linux', architecture: 'amd64' });
    assert.throws(() => parsePlatform('linux//x'), /expected os\/arch/);
    assert.throws(() => parsePlatform('a/b/c/d'), /expected os\/arch/);
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  });
  it('knows this host', () => {
    const h = hostPlatform();
    assert.equal(h.os, 'linux');
    assert.equal(h.architecture, process.arch === 'x64' ? 'amd64' : h.architecture);
  });
  it('matches variants: arm/v7 runs v6, arm64 ignores v8, a manifest without variant serves any', () => {
    assert.ok(platformMatches(parsePlatform('linux/arm/v7'), parsePlatform('linux/arm/v6')));
    assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), parsePlatform('linux/arm/v7')));
    assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
    assert.ok(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' }));
    assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }));
  });
});

describe('selectManifest', () => {
  const idx = index([['linux', 'amd64'], ['linux', 'arm64', 'v8'], ['linux', 'arm', 'v6'], ['linux', 'arm', 'v7'], ['windows', 'amd64']]);
  it('picks the exact platform', () => {
    assert.equal(selectManifest(idx, parsePlatform('linux/amd64')).digest, dg('m0'));
    assert.equal(selectManifest(idx, parsePlatform('linux/arm64')).digest, dg('m1'));
    assert.equal(selectManifest(idx, parsePlatform('linux/arm/v7')).digest, dg('m3'));
    assert.equal(selectManifest(idx, parsePlatform('linux/arm/v6')).digest, dg('m2'));
    assert.equal(selectManifest(idx, parsePlatform('windows/amd64')).digest, dg('m4'));
  });
  it('falls back to compatible variants', () => {
    const only6 = index([['linux', 'arm', 'v6']]);
    assert.equal(selectManifest(only6, parsePlatform('linux/arm/v7')).digest, dg('m0'));
    const v5v6 = index([['linux', 'arm', 'v5'], ['linux', 'arm', 'v6']]);
    assert.equal(selectManifest(v5v6, parsePlatform('linux/arm/v7')).digest, dg('m1'));
  });
  it('skips attestations and says what there is', () => {
    const withAtt = index([['unknown', 'unknown'], ['linux', 'arm64']]);
    assert.throws(() => selectManifest(withAtt, parsePlatform('linux/amd64')), /no manifest for platform linux\/amd64 in the index \(it has: linux\/arm64\); choose one with --platform/);
  });
  it('defaults to this host', () => {
    const hostIdx = index([['linux', 's390x'], [hostPlatform().os, hostPlatform().architecture, hostPlatform().variant]]);
    assert.equal(selectManifest(hostIdx).digest, dg('m1'));
  });
});
