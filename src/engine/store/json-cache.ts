// Parsed spec columns, kept per container so that reading the same text again costs a copy,
// not a parse: a run reads its container's record several times (start, the exit, the removal),
// each a new row object whose ~9 KiB spec (mostly the seccomp profile) took ~75 us to parse
// where a copy takes ~15 us. The parsed value is never handed out: every reader gets its own
// copy, as fresh and mutable as JSON.parse's.

/** A deep copy of JSON data (what JSON.parse returns), as JSON.parse would build it. */
export function jsonClone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = jsonClone(v[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = jsonClone((v as Record<string, unknown>)[k]);
    // JSON.parse makes "__proto__" an own property; an assignment would set the prototype
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, writable: true, enumerable: true, configurable: true });
    else out[k] = x;
  }
  return out as T;
}

const MAX = 16; // a run reads one container at a time; ~50 KiB per entry
const parsed = new Map<string, { text: string; value: unknown }>();

/** JSON.parse(text) for the column of container `id`: a copy of the last parse when the text is the same. */
export function parseCached(id: string, text: string): unknown {
  const hit = parsed.get(id);
  if (hit && hit.text === text) return jsonClone(hit.value);
  const value = JSON.parse(text) as unknown;
  // least recently parsed out first: a removed container's entry ages out
  parsed.delete(id);
  if (parsed.size >= MAX) parsed.delete(parsed.keys().next().value!);
  parsed.set(id, { text, value: jsonClone(value) });
  return value;
}
