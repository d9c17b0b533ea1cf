// Property tests: whatever the input, parseSpec returns a Spec or throws a SpecError, quickly.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import fc from 'fast-check';

import { defaultSpec } from '../../src/spec/default-spec.js';
import { SpecError } from '../../src/spec/errors.js';
import { parseProcess, parseSpec, validateSpec } from '../../src/spec/validate.js';
import { exampleFullSpec as kitchenSink, exampleMinimalSpec as minimal } from '../../src/spec/examples.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let slowest = 0;

function returnsOrSpecError(fn: () => unknown): boolean {
  const t0 = performance.now();
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof SpecError) return true;
    throw e;
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
}

/** Every (container, key) pair of a JSON tree, so a mutation can pick one. */
function slots(root: unknown): Array<[Any, string | number]> {
  const out: Array<[Any, string | number]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        out.push([v, i]);
        walk(item);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        out.push([v, k]);
        walk(item);
      }
    }
  };
  walk(root);
  return out;
}

const bases: Array<() => unknown> = [
  () => defaultSpec({ cgroupNamespace: true }),
  () => defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 }),
  kitchenSink,
  minimal,
];

const specialValues = fc.constantFrom<unknown>(
  null,
  undefined,
  -1,
  0,
  1.5,
  2 ** 32,
  2 ** 53,
  2 ** 64,
  -(2 ** 63),
  Number.MAX_VALUE,
  '',
  '..',
  '/../..',
  'rel/path',
  'a\0b',
  '__proto__',
  [],
  {},
  [[]],
  { __proto__: 1 },
  true,
);

const mutation = fc.record({
  base: fc.nat({ max: bases.length - 1 }),
  edits: fc.array(
    fc.record({
      slot: fc.nat(),
      op: fc.constantFrom('replace', 'delete', 'duplicate'),
      value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), specialValues),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

describe('parseSpec never fails other than with SpecError', () => {
  after(() => {
    // Each call is far below a millisecond; allow for GC pauses on a loaded machine.
    assert.ok(slowest < 250, `slowest parseSpec call took ${slowest} ms`);
  });

  it('on random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => returnsOrSpecError(() => parseSpec(JSON.stringify(v) ?? ''))),
      { numRuns: 3000 },
    );
  });

  it('on random objects with config.json keys', () => {
    const keys = ['ociVersion', 'root', 'mounts', 'process', 'hostname', 'hooks', 'annotations', 'linux', 'user', 'namespaces'];
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { maxDepth: 4, depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(fc.constantFrom(...keys), tie('node')),
        fc.array(tie('node'), { maxLength: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const doc = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ociVersion: '1.2.0', ...v } : v;
        return returnsOrSpecError(() => parseSpec(JSON.stringify(doc) ?? 'null'));
      }),
      { numRuns: 1000 },
    );
  });

  it('on mutated valid specs', () => {
    let stillValid = 0;
    fc.assert(
      fc.property(mutation, ({ base, edits }) => {
        const doc: Any = structuredClone(bases[base]!());
        for (const { slot, op, value } of edits) {
          const all = slots(doc);
          if (all.length === 0) break;
          const [container, key] = all[slot % all.length]!;
          if (op === 'delete') {
            if (Array.isArray(container)) container.splice(key as number, 1);
            else delete container[key];
          } else if (op === 'duplicate' && Array.isArray(container)) {
            container.push(structuredClone(container[key as number]));
          } else {
            // a copy: constantFrom hands out the same [] / {} each time, so two edits could put
            // one object inside itself (a cycle JSON.stringify throws on), and fast-check reuses
            // generated values while shrinking
            container[key] = value === undefined ? undefined : structuredClone(value);
          }
        }
        const text = JSON.stringify(doc);
        try {
          parseSpec(text);
          stillValid++;
        } catch {
          // checked below
        }
        return (
          returnsOrSpecError(() => parseSpec(text)) &&
          returnsOrSpecError(() => validateSpec(doc)) &&
          returnsOrSpecError(() => parseProcess(JSON.stringify(doc.process ?? null)))
        );
      }),
      { numRuns: 3000 },
    );
    // The mutations must exercise both outcomes, not only the error paths.
    assert.ok(stillValid > 150 && stillValid < 2850, `${stillValid} of 3000 mutated specs stayed valid`);
  });

  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => returnsOrSpecError(() => parseSpec(s))),
      { numRuns: 2000 },
    );
  });
});

describe('hostile input is rejected quickly, without crashing', () => {
  it('100000 levels of [[[[...', () => {
    const t0 = performance.now();
    for (const text of ['['.repeat(100000), '['.repeat(100000) + ']'.repeat(100000), `{"a":${'{"a":'.repeat(100000)}1${'}'.repeat(100001)}`]) {
      assert.throws(() => parseSpec(text), (e: unknown) => e instanceof SpecError && /nesting deeper than 64 levels/.test(e.message));
    }
    assert.ok(performance.now() - t0 < 500);
  });

  it('a 10 MiB string', () => {
    const big = `{"ociVersion":"1.2.0","hostname":"${'x'.repeat(10 * 1024 * 1024)}"}`;
    const t0 = performance.now();
    assert.throws(() => parseSpec(big), (e: unknown) => e instanceof SpecError && /file too large/.test(e.message));
    assert.throws(() => parseProcess(big), SpecError);
    assert.ok(performance.now() - t0 < 200);
  });

  it('a large but allowed config with a huge string does not echo it back', () => {
    const text = `{"ociVersion":"1.2.0","hostname":"${'x'.repeat(3 * 1024 * 1024)}"}`;
    assert.throws(() => parseSpec(text), (e: unknown) => e instanceof SpecError && e.message.length < 300);
    const s = JSON.stringify({ ociVersion: '1.2.0', linux: { sysctl: { ['x'.repeat(1e6)]: '1' } } });
    assert.throws(() => parseSpec(s), (e: unknown) => e instanceof SpecError && e.message.length < 400);
  });

  it('validateSpec on a cyclic or very deep object graph gives a SpecError', () => {
    let deep: Any = { type: 'pid' };
    for (let i = 0; i < 200000; i++) deep = { ociVersion: '1.2.0', process: deep };
    assert.throws(() => validateSpec(deep), SpecError);
    const cyclic: Any = { ociVersion: '1.2.0', linux: {} };
    cyclic.linux.resources = { rdma: { x: cyclic } };
    assert.throws(() => validateSpec(cyclic), SpecError);
  });
});
