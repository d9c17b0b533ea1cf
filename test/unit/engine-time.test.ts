// rfc3339Nano formats the UTC calendar by arithmetic (src/engine/time.ts): it must agree with
// Date's toISOString for every instant, leap days and year ends included.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseRfc3339, rfc3339Nano } from '../../src/engine/time.js';

/** What Date says, with the nanoseconds appended (the old implementation). */
function viaDate(ns: bigint): string {
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

const at = (iso: string, nanos = 0n): bigint => BigInt(Date.parse(iso)) * 1_000_000n + nanos;

describe('rfc3339Nano', () => {
  it('agrees with Date on 100000 random instants from 1970 to 9999', () => {
    const max = 253402300799; // 9999-12-31T23:59:59Z
    for (let i = 0; i < 100000; i++) {
      const s = BigInt(Math.floor(Math.random() * (max + 1)));
      const ns = s * 1_000_000_000n + BigInt(Math.floor(Math.random() * 1e9));
      assert.equal(rfc3339Nano(ns), viaDate(ns), `instant ${ns}`);
    }
  });

  it('agrees with Date around every year end, leap day and March 1st from 1970 to 2500', () => {
    for (let y = 1970; y <= 2500; y++) {
      for (const day of [`${y}-01-01T00:00:00Z`, `${y}-02-28T23:59:59Z`, `${y}-03-01T00:00:00Z`, `${y}-12-31T23:59:59Z`]) {
        for (const delta of [-1n, 0n, 1n]) {
          const ns = at(day) + delta * 1_000_000_000n;
          if (ns >= 0n) assert.equal(rfc3339Nano(ns), viaDate(ns));
        }
      }
    }
  });

  it('formats known leap days and the epoch exactly', () => {
    assert.equal(rfc3339Nano(0n), '1970-01-01T00:00:00.000000000Z');
    assert.equal(rfc3339Nano(at('2000-02-29T12:34:56Z', 7n)), '2000-02-29T12:34:56.000000007Z');
    assert.equal(rfc3339Nano(at('2024-02-29T23:59:59Z', 999_999_999n)), '2024-02-29T23:59:59.999999999Z');
    // 2100 is not a leap year: the day after February 28th is March 1st
    assert.equal(rfc3339Nano(at('2100-02-28T00:00:00Z') + 86_400_000_000_000n), '2100-03-01T00:00:00.000000000Z');
    assert.equal(rfc3339Nano(at('9999-12-31T23:59:59Z', 1n)), '9999-12-31T23:59:59.000000001Z');
  });

  it('round-trips through parseRfc3339, and the current time too', () => {
    for (const ns of [1n, at('1999-12-31T23:59:59Z', 123n), at('2038-01-19T03:14:08Z', 500_000_000n)]) assert.equal(parseRfc3339(rfc3339Nano(ns)), ns);
    const now = rfc3339Nano();
    assert.match(now, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    assert.ok(Math.abs(Number(parseRfc3339(now)! / 1_000_000n) - Date.now()) < 60_000);
  });

  it('keeps Date formatting for years past 9999', () => {
    const ns = at('+010000-01-01T00:00:00Z', 5n);
    assert.equal(rfc3339Nano(ns), viaDate(ns));
  });
});
