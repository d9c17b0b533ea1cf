// Timestamps as docker writes them: RFC 3339 with nanoseconds, UTC.

// The wall clock read once, then advanced by the monotonic clock: nanosecond resolution, and never
// going backwards within a process (mixing Date.now() with a sub-millisecond hrtime remainder
// did, when the remainder wrapped within one millisecond).
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Nanoseconds since the epoch. */
export function nowNano(): bigint {
  return EPOCH_OFFSET + process.hrtime.bigint();
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * "2024-01-02T03:04:05.123456789Z". The UTC calendar by arithmetic rather than through Date:
 * a process's first Date formatting costs ~0.2 ms (most CLI commands write one timestamp).
 * Instants before 1970 or after 9999 go through Date (rare; their years need other padding).
 */
export function rfc3339Nano(ns: bigint = nowNano()): string {
  const sec = ns / 1_000_000_000n;
  const frac = (ns - sec * 1_000_000_000n).toString().padStart(9, '0');
  const s = Number(sec);
  if (ns < 0n || s >= 253402300800) return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${frac}Z`;
  const days = Math.floor(s / 86400);
  const rem = s - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const hh = Math.floor(rem / 3600);
  const mm = Math.floor((rem % 3600) / 60);
  return `${y}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(rem % 60)}.${frac}Z`;
}

/** Year, month (1-12) and day of the proleptic Gregorian date `days` days after 1970-01-01 (days >= 0). */
function civilFromDays(days: number): [number, number, number] {
  // count from 0000-03-01, so a leap day is the last day of its year, in 400-year eras of 146097 days
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // day of era, 0..146096
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365); // 0..399
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // day of the March-based year, 0..365
  const mp = Math.floor((5 * doy + 2) / 153); // month from March, 0..11
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Parses an RFC 3339 time (any fraction precision) into nanoseconds since the epoch. */
export function parseRfc3339(s: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return null;
  const base = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(base)) return null;
  return BigInt(base) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Docker's "since"/"until" values: RFC 3339, a unix timestamp (with fraction), or a duration ago ("10m"). */
export function parseSince(s: string, now: bigint = nowNano()): bigint | null {
  const t = parseRfc3339(s);
  if (t !== null) return t;
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return parseRfc3339(`${s}T00:00:00Z`);
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(s);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const d = parseDuration(s);
  return d === null ? null : now - d;
}

const UNITS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** A Go duration ("1h30m", "500ms", "10s") in nanoseconds, or null. */
export function parseDuration(s: string): bigint | null {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * Number(UNITS[m[2]!]!);
  return BigInt(Math.round(total));
}

/** "2 minutes", "About an hour", "3 days" (docker's units.HumanDuration). */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(ms / 60000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3600000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}
