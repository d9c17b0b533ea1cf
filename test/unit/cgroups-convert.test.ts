import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blkioWeightToIoWeight, isUnlimited, parseIdList, sharesToWeight, swapToV2 } from '../../src/cgroups/convert.js';
import { parseFlatKeyed, parseLimit, parseNestedKeyed, parsePsi } from '../../src/cgroups/parse.js';

describe('conversions', () => {
  it('cpu.shares -> cpu.weight: 1 + ((shares - 2) * 9999) / 262142', () => {
    assert.equal(sharesToWeight(0), 0);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(512), 20);
    assert.equal(sharesToWeight(262144), 10000);
  });

  it('blkio weight -> io.weight', () => {
    assert.equal(blkioWeightToIoWeight(0), 0);
    assert.equal(blkioWeightToIoWeight(10), 1);
    assert.equal(blkioWeightToIoWeight(500), 4950);
    assert.equal(blkioWeightToIoWeight(1000), 10000);
  });

  it('OCI memory+swap -> memory.swap.max', () => {
    assert.equal(swapToV2(0, -1), -1);
    assert.equal(swapToV2(-1, 100), -1);
    assert.equal(swapToV2(0, 100), 0);
    assert.equal(swapToV2(300, 100), 200);
    assert.equal(swapToV2(100, 100), 0);
    assert.throws(() => swapToV2(50, 100), RangeError);
    assert.throws(() => swapToV2(50, -1), RangeError);
  });

  it('treats -1 and JSON int64 max as unlimited', () => {
    assert.equal(isUnlimited(-1), true);
    assert.equal(isUnlimited(JSON.parse('9223372036854775807') as number), true);
    assert.equal(isUnlimited(1 << 30), false);
  });

  it('parses cpuset lists', () => {
    assert.deepEqual(parseIdList('0-2,5, 7'), [0, 1, 2, 5, 7]);
    assert.deepEqual(parseIdList(''), []);
    assert.throws(() => parseIdList('3-1'), /reversed/);
    assert.throws(() => parseIdList('a'), RangeError);
  });
});

describe('file parsers', () => {
  it('reads limits, keyed files and PSI', () => {
    assert.equal(parseLimit('max\n'), -1);
    assert.equal(parseLimit('9223372036854771712\n'), -1);
    assert.equal(parseLimit('4096'), 4096);
    assert.equal(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n').get('oom_kill'), 3);
    assert.equal(parseNestedKeyed('8:0 rbytes=10 wbytes=20\n').get('8:0')?.get('wbytes'), '20');
    assert.deepEqual(parsePsi('some avg10=1.50 avg60=0.00 avg300=0.00 total=12\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n'), {
      some: { avg10: 1.5, avg60: 0, avg300: 0, total: 12 },
      full: { avg10: 0, avg60: 0, avg300: 0, total: 3 },
    });
  });
});
