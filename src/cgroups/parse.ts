// Parsers for the formats of cgroup files (flat keyed, nested keyed, PSI) and numbers in them.

/** An integer file value; "max" and values >= 2^62 (v1's "unlimited") are -1. */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '-1') return -1;
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  return n >= 2 ** 62 ? -1 : n;
}

/** "key value" lines -> map (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** "8:0 rbytes=1 wbytes=2" lines (io.stat, rdma.max, io.max) -> device -> key -> value. */
export function parseNestedKeyed(text: string | undefined): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const dev = parts.shift();
    if (!dev) continue;
    const kv = new Map<string, string>();
    for (const p of parts) {
      const eq = p.indexOf('=');
      if (eq > 0) kv.set(p.slice(0, eq), p.slice(eq + 1));
    }
    out.set(dev, kv);
  }
  return out;
}

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds. */
  total: number;
}

export interface Psi {
  some: PsiLine;
  full?: PsiLine;
}

/** A *.pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0"). */
export function parsePsi(text: string | undefined): Psi | undefined {
  if (text === undefined) return undefined;
  const lines = parseNestedKeyed(text);
  const line = (k: string): PsiLine | undefined => {
    const m = lines.get(k);
    if (!m) return undefined;
    return { avg10: Number(m.get('avg10') ?? 0), avg60: Number(m.get('avg60') ?? 0), avg300: Number(m.get('avg300') ?? 0), total: Number(m.get('total') ?? 0) };
  };
  const some = line('some');
  if (!some) return undefined;
  const full = line('full');
  return full ? { some, full } : { some };
}

/** The pids in a cgroup.procs file. */
export function parsePids(text: string | undefined): number[] {
  if (!text) return [];
  const out: number[] = [];
  for (const l of text.split('\n')) if (l !== '') out.push(Number(l));
  return out;
}
