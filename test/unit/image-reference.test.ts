import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  familiarString, familiarize, formatReference, normalizeReference, parseReference, parseRepository, referenceTarget, withTag,
} from '../../src/image/reference.js';
import { InvalidReferenceError } from '../../src/image/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference: docker normalisation', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'busybox:1'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['user/team/app:v2', 'docker.io/user/team/app:v2', 'user/team/app:v2'],
    ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/ns/app:1.0', 'localhost:5000/ns/app:1.0', 'localhost:5000/ns/app:1.0'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest', '127.0.0.1:5000/app:latest'],
    ['[::1]:5000/app:v1', '[::1]:5000/app:v1', '[::1]:5000/app:v1'],
    ['quay.io/org/app', 'quay.io/org/app:latest', 'quay.io/org/app:latest'],
    ['Registry.Example.COM/app', 'Registry.Example.COM/app:latest', 'Registry.Example.COM/app:latest'],
    ['Foo/bar', 'Foo/bar:latest', 'Foo/bar:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000'],
    ['a__b/c.d/e-f---g', 'docker.io/a__b/c.d/e-f---g:latest', 'a__b/c.d/e-f---g:latest'],
    [`app@${D}`, `docker.io/library/app@${D}`, `app@${D}`],
    [`app:1.0@${D}`, `docker.io/library/app:1.0@${D}`, `app:1.0@${D}`],
    [`localhost:5000/app@${D}`, `localhost:5000/app@${D}`, `localhost:5000/app@${D}`],
    ['app:Tag_1.x-Y', 'docker.io/library/app:Tag_1.x-Y', 'app:Tag_1.x-Y'],
  ];
  for (const [input, full, familiar] of cases) {
    it(`${input} -> ${full}`, () => {
      const ref = parseReference(input);
      assert.equal(formatReference(ref), full);
      assert.equal(familiarString(ref), familiar);
      assert.equal(normalizeReference(input), full);
    });
  }

  it('splits domain, path, tag and digest', () => {
    assert.deepEqual(parseReference(`localhost:5000/ns/app:1.0@${D}`), { domain: 'localhost:5000', path: 'ns/app', tag: '1.0', digest: D });
    assert.deepEqual(parseReference(`app@${D}`), { domain: 'docker.io', path: 'library/app', digest: D });
    assert.deepEqual(parseReference('app', { defaultTag: false }), { domain: 'docker.io', path: 'library/app' });
  });

  it('the digest decides what a registry resolves', () => {
    assert.equal(referenceTarget(parseReference(`app:1@${D}`)), D);
    assert.equal(referenceTarget(parseReference('app:1')), '1');
  });

  it('familiarize and withTag', () => {
    assert.equal(familiarize('docker.io/library/busybox:latest'), 'busybox:latest');
    assert.equal(familiarize('docker.io/library/busybox'), 'busybox');
    assert.equal(formatReference(withTag(parseReference('x:1'), '2')), 'docker.io/library/x:2');
    assert.throws(() => withTag(parseReference('x'), '.bad'), InvalidReferenceError);
  });

  it('parseRepository refuses tags and digests', () => {
    assert.equal(formatReference(parseRepository('ns/app')), 'docker.io/ns/app');
    assert.throws(() => parseRepository('ns/app:1'), /without tag or digest/);
  });
});

describe('parseReference: errors name the problem', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /must be lowercase/],
    ['docker.io/User/app', /must be lowercase/],
    ['localhost:5000/App:1', /must be lowercase/],
    ['busybox:', /invalid tag ""/],
    ['busybox:-x', /invalid tag "-x"/],
    ['busybox:.x', /invalid tag/],
    ['busybox:a/b', /invalid (reference|repository|tag)/],
    [`busybox:${'t'.repeat(129)}`, /invalid tag/],
    ['busybox@sha256:abc', /invalid sha256 digest|expected 64/],
    [`busybox@sha256:${'A'.repeat(64)}`, /lowercase hex/],
    [`busybox@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    ['busybox@', /invalid digest/],
    ['a'.repeat(64).replace(/a/g, 'f'), /64-character hexadecimal/],
    ['a//b', /invalid repository name/],
    ['-a', /invalid repository name/],
    ['a_', /invalid repository name/],
    ['a..b', /invalid repository name/],
    ['a/', /invalid repository name/],
    [':tag', /repository name is empty/],
    ['bad-.example.com/x', /invalid registry host/],
    ['host:port/x', /invalid registry host/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
    ['a b', /invalid/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)}`, () => {
      assert.throws(() => parseReference(input), (e: unknown) => {
        assert.ok(e instanceof InvalidReferenceError, `expected InvalidReferenceError, got ${String(e)}`);
        assert.match(e.message, re);
        return true;
      });
    });
  }
});
