// --detach-keys for the CLI (src/cli/berth/detach-keys.ts): docker's key names parsed into
// bytes with a clear error, and the sequence found in input split over any chunks.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { detachKeys, detachScanner } from '../../src/cli/berth/detach-keys.js';
import { isEngineError } from '../../src/engine/errors.js';

test('detachKeys: docker default, ctrl- names and single characters; bad names are invalid', () => {
  assert.deepEqual(detachKeys(undefined), [0x10, 0x11]);
  assert.deepEqual(detachKeys('ctrl-x,y'), [0x18, 0x79]);
  assert.deepEqual(detachKeys('ctrl-@,ctrl-[,a,b'), [0, 0x1b, 0x61, 0x62]);
  assert.deepEqual(detachKeys('ctrl-x'), [0x18]);
  for (const bad of ['', 'ctrl-', 'ctrl-1', 'ab', 'ctrl-x,,y', 'ctrl-X']) {
    assert.throws(() => detachKeys(bad), (e) => isEngineError(e, 'invalid') && e.message.includes(`(${bad})`), bad);
  }
});

/** Feeds chunks; returns what was forwarded and the index of the chunk that detached (-1: none). */
function feed(keys: number[], chunks: number[][]): { forwarded: number[]; at: number } {
  const scan = detachScanner(keys);
  const forwarded: number[] = [];
  for (const [i, c] of chunks.entries()) {
    const r = scan(Buffer.from(c));
    forwarded.push(...r.forward);
    if (r.detach) return { forwarded, at: i };
  }
  return { forwarded, at: -1 };
}

test('detachScanner: the sequence in one chunk, split over chunks, a lone or repeated first key', () => {
  const pq = [0x10, 0x11];
  assert.deepEqual(feed(pq, [[0x61, 0x10, 0x11, 0x62]]), { forwarded: [0x61], at: 0 });
  assert.deepEqual(feed(pq, [[0x61, 0x10], [0x11]]), { forwarded: [0x61], at: 1 });
  // a held first key that turns out to be input is forwarded, in order
  assert.deepEqual(feed(pq, [[0x10], [0x61], [0x62]]), { forwarded: [0x10, 0x61, 0x62], at: -1 });
  // ctrl-p ctrl-p ctrl-q: the first ctrl-p is input, the next two detach
  assert.deepEqual(feed(pq, [[0x10, 0x10, 0x11]]), { forwarded: [0x10], at: 0 });
  // longer sequences and a single key
  const abc = [0x61, 0x62, 0x63];
  assert.deepEqual(feed(abc, [[0x61, 0x62, 0x61], [0x62], [0x63]]), { forwarded: [0x61, 0x62], at: 2 });
  assert.deepEqual(feed(abc, [[0x61, 0x62, 0x64]]), { forwarded: [0x61, 0x62, 0x64], at: -1 });
  assert.deepEqual(feed([0x18], [[0x41, 0x42], [0x43, 0x18, 0x44]]), { forwarded: [0x41, 0x42, 0x43], at: 1 });
});
