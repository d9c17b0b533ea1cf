// Output helpers: a subset of Go's text/template (what `--format` and `inspect -f` take),
// docker's table layout (text/tabwriter: min width 10, padding 3) and human-readable sizes.

import { compileTemplate, TemplateError } from './go-template.js';

export { TemplateError };

type Value = unknown;

/**
 * Compiles a template once; apply it to each value. "\\t" and "\\n" escapes are honoured
 * (go-template.ts). rawMap: the value is inspect's JSON, a missing key reads as docker's does there.
 */
export function template(src: string, o: { rawMap?: boolean } = {}): (v: Value) => string {
  return compileTemplate(src.replace(/\\t/g, '\t').replace(/\\n/g, '\n'), o);
}

/** docker's tabwriter(minwidth 10, padding 3; `top` uses minwidth 20): cells separated by \t. */
export function tabulate(lines: string[], minWidth = 10): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length + 3, minWidth)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c + ' '.repeat(widths[i]! - [...c].length) : c)).join('').trimEnd() + '\n').join('');
}

/**
 * Prints rows with a --format: "table ..." (header + aligned rows), "json" (one JSON object per
 * line), or a plain template (one line per row).
 */
export function formatRows(rows: Value[], format: string, headers: Record<string, string>): string {
  try {
    return formatRowsOf(rows, format, headers);
  } catch (e) {
    if (e instanceof TemplateError) e.exitCode = 1; // docker's formatter returns a plain error: exit 1
    throw e;
  }
}

function formatRowsOf(rows: Value[], format: string, headers: Record<string, string>): string {
  if (format === 'json') return rows.map((r) => JSON.stringify(plain(r)) + '\n').join('');
  if (format.startsWith('table')) {
    const t = template(format.slice(5).trim() || Object.keys(headers).map((k) => `{{.${k}}}`).join('\t'));
    const head = t(new Proxy({}, { get: (_o, k) => headers[String(k)] ?? String(k).toUpperCase(), has: () => true }));
    return tabulate([head, ...rows.map((r) => t(r))]);
  }
  const t = template(format);
  return rows.map((r) => t(r) + '\n').join('');
}

/**
 * A list verb's output (ps, images, volume ls, network ls, ...): `--format` unset or "table"
 * gives the verb's default table, otherwise as formatRows.
 */
export function listOutput(rows: Value[], format: string | undefined, defaultTable: string, headers: Record<string, string>): string {
  return formatRows(rows, !format || format === 'table' ? defaultTable : format, headers);
}

/** `-q`: one ID per line. */
export function quietLines(ids: Iterable<string>): string {
  let out = '';
  for (const id of ids) out += id + '\n';
  return out;
}

/** A row as docker's `{{json .}}` prints it: a Go map, so its keys sorted; no methods. */
function plain(v: Value): Value {
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as object).filter(([, x]) => typeof x !== 'function').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** docker's units.HumanSize (decimal: kB, MB, GB) with 3 significant digits. */
export function humanSize(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${u[i]}`;
}

/** docker's units.BytesSize (binary: KiB, MiB, GiB). */
export function bytesSize(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toFixed(2))}${u[i]}`;
}
