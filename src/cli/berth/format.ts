// Output helpers: a subset of Go's text/template (what `--format` and `inspect -f` take),
// docker's table layout (text/tabwriter: min width 10, padding 3) and human-readable sizes.

type Value = unknown;

interface Node {
  kind: 'text' | 'action' | 'range' | 'if';
  text?: string;
  expr?: string;
  body?: Node[];
  else?: Node[];
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

function tokenize(src: string): { text: string; action: boolean }[] {
  const out: { text: string; action: boolean }[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i), action: false });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new TemplateError(`template: unclosed action`);
    let body = src.slice(open + 2, close);
    let next = close + 2;
    if (body.startsWith('-')) {
      body = body.slice(1);
      text = text.replace(/\s+$/, '');
    }
    if (body.endsWith('-')) {
      body = body.slice(0, -1);
      while (next < src.length && /\s/.test(src[next]!)) next++;
    }
    if (text) out.push({ text, action: false });
    out.push({ text: body.trim(), action: true });
    i = next;
  }
  return out;
}

function parse(src: string): Node[] {
  const toks = tokenize(src);
  let pos = 0;
  const block = (endAt: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < toks.length) {
      const t = toks[pos++]!;
      if (!t.action) {
        nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const [kw] = t.text.split(/\s+/);
      if (endAt.includes(kw!)) return { nodes, end: kw! };
      if (kw === 'range' || kw === 'if') {
        const expr = t.text.slice(kw.length).trim();
        const b = block(['end', 'else']);
        const node: Node = { kind: kw, expr, body: b.nodes };
        if (b.end === 'else') node.else = block(['end']).nodes;
        nodes.push(node);
        continue;
      }
      if (kw === 'end' || kw === 'else') throw new TemplateError(`template: unexpected {{${kw}}}`);
      nodes.push({ kind: 'action', expr: t.text });
    }
    if (endAt.length) throw new TemplateError('template: unexpected EOF');
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

function words(expr: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(expr))) out.push(m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2]!);
  return out;
}

function field(dot: Value, path: string): Value {
  if (path === '.') return dot;
  let v: Value = dot;
  for (const k of path.split('.').filter(Boolean)) {
    if (v === null || v === undefined || typeof v !== 'object') throw new TemplateError(`template: can't evaluate field ${k} in type ${typeof v}`);
    if (!(k in (v as object))) throw new TemplateError(`template: can't evaluate field ${k}`);
    v = (v as Record<string, Value>)[k];
  }
  return v;
}

function show(v: Value): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`;
  return String(v);
}

function evalArg(dot: Value, w: string): Value {
  if (w.startsWith('"')) return JSON.parse(w);
  if (/^-?\d+$/.test(w)) return Number(w);
  if (w.startsWith('.')) return field(dot, w);
  throw new TemplateError(`template: function "${w}" not defined`);
}

const FUNCS: Record<string, (...a: Value[]) => Value> = {
  json: (v) => JSON.stringify(v ?? null),
  index: (v, ...keys) => keys.reduce<Value>((acc, k) => (acc as Record<string, Value> | undefined)?.[k as string], v),
  join: (v, sep) => (Array.isArray(v) ? v.map(String).join(String(sep)) : String(v)),
  upper: (v) => String(v).toUpperCase(),
  lower: (v) => String(v).toLowerCase(),
  title: (v) => String(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  len: (v) => (Array.isArray(v) ? v.length : typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  println: (...a) => a.map(show).join(' ') + '\n',
  print: (...a) => a.map(show).join(''),
  printf: (f, ...a) => {
    let i = 0;
    return String(f).replace(/%[svdq%]/g, (m) => (m === '%%' ? '%' : m === '%q' ? JSON.stringify(String(a[i++])) : show(a[i++])));
  },
  truncate: (v, n) => String(v).slice(0, Number(n)),
  split: (v, sep) => String(v).split(String(sep)),
};

function evalCommand(dot: Value, cmd: string, piped?: Value): Value {
  const w = words(cmd);
  if (!w.length) throw new TemplateError('template: empty command');
  const [head, ...rest] = w;
  const f = FUNCS[head!];
  const args = rest.map((x) => evalArg(dot, x));
  if (piped !== undefined) args.push(piped);
  if (f) return f(...args);
  const v = evalArg(dot, head!);
  if (typeof v === 'function') return (v as (...a: Value[]) => Value)(...args);
  return v;
}

function evalExpr(dot: Value, expr: string): Value {
  let v: Value;
  let first = true;
  for (const part of expr.split(/\s\|\s/)) {
    v = first ? evalCommand(dot, part) : evalCommand(dot, part, v);
    first = false;
  }
  return v;
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

function run(nodes: Node[], dot: Value): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') out += show(evalExpr(dot, n.expr!));
    else if (n.kind === 'if') out += truthy(evalExpr(dot, n.expr!)) ? run(n.body!, dot) : run(n.else ?? [], dot);
    else {
      const v = evalExpr(dot, n.expr!);
      const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, Value>)[k]) : [];
      if (!items.length) out += run(n.else ?? [], dot);
      for (const it of items) out += run(n.body!, it);
    }
  }
  return out;
}

/** Compiles a template once; apply it to each value. "\t" and "\n" escapes are honoured. */
export function template(src: string): (v: Value) => string {
  const nodes = parse(src.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  return (v) => run(nodes, v);
}

/** docker's tabwriter(minwidth 10, padding 3): cells separated by \t. */
export function tabulate(lines: string[]): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length + 3, 10)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c + ' '.repeat(widths[i]! - [...c].length) : c)).join('').trimEnd() + '\n').join('');
}

/**
 * Prints rows with a --format: "table ..." (header + aligned rows), "json" (one JSON object per
 * line), or a plain template (one line per row).
 */
export function formatRows(rows: Value[], format: string, headers: Record<string, string>): string {
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

function plain(v: Value): Value {
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as object).filter(([, x]) => typeof x !== 'function'));
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
