// The Go text/template subset that docker's `--format` and `inspect -f` take: fields and
// chains (.A.B, $v.A, (pipeline).A), variables ($, $x := ..., range $k, $v := ...), pipes
// (with or without spaces), if/else if/with/range/else/end, comments, and the functions of Go
// (and or not eq ne lt le gt ge len index slice print printf println) and of docker's CLI
// (json join split lower upper title pad truncate). Written here rather than taken from npm:
// the npm Go-template ports are unmaintained or pull in a runtime far larger than this.

type Value = unknown;

export class TemplateError extends Error {
  override name = 'TemplateError';
  /** The CLI's exit status for it (main.ts; unset: 125) and the words before its message. */
  exitCode?: number;
  prefix?: string;
  /** 'parse': the template is malformed; 'exec': it failed on a value. */
  constructor(message: string, readonly phase: 'parse' | 'exec' = 'exec') {
    super(message);
  }
}

// ------------------------------------------------------------------ lexer (inside {{ }})

type Tok =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'field'; v: string[] } // .A.B ; [] for "."
  | { t: 'var'; v: string; path: string[] } // $x.A
  | { t: 'ident'; v: string }
  | { t: 'chain'; v: string[] } // .A.B straight after ")"
  | { t: '(' | ')' | '|' | ':=' | '=' | ',' };

const perr = (m: string) => new TemplateError(`template: ${m}`, 'parse');

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const chain = (): string[] => {
    const p: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i))!;
      p.push(m[1]!);
      i += m[0].length;
    }
    return p;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(src.slice(i));
      if (!m) throw perr('unterminated quoted string');
      out.push({ t: 'str', v: JSON.parse(m[0]) as string });
      i += m[0].length;
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw perr('unterminated raw quoted string');
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ t: c });
      i++;
    } else if (src.startsWith(':=', i)) {
      out.push({ t: ':=' });
      i += 2;
    } else if (c === '=') {
      out.push({ t: '=' });
      i++;
    } else if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
      if (src[i - 1] === ')' && /[A-Za-z_]/.test(src[i + 1] ?? '')) out.push({ t: 'chain', v: chain() });
      else if (/[A-Za-z_]/.test(src[i + 1] ?? '')) out.push({ t: 'field', v: chain() });
      else {
        out.push({ t: 'field', v: [] });
        i++;
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ t: 'var', v: m[0], path: chain() });
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(?:0x[0-9a-fA-F]+|\d*\.?\d+(?:[eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) throw perr(`bad number syntax: ${src.slice(i, i + 10)}`);
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      const w = m[0];
      out.push(w === 'true' || w === 'false' ? { t: 'bool', v: w === 'true' } : w === 'nil' ? { t: 'nil' } : { t: 'ident', v: w });
      // a field chain straight after a name is not Go; a chain after ")" is handled by the parser
    } else throw perr(`unexpected "${c}" in command`);
  }
  return out;
}

// ------------------------------------------------------------------ parser

type Arg =
  | { k: 'lit'; v: Value }
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'fn'; name: string }
  | { k: 'pipe'; p: Pipeline; path: string[] };
interface Pipeline {
  decl: string[]; // variables declared (:=) or assigned (=)
  cmds: Arg[][];
  text: string;
}
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; p: Pipeline }
  | { kind: 'if' | 'with'; p: Pipeline; body: Node[]; else: Node[] }
  | { kind: 'range'; p: Pipeline; body: Node[]; else: Node[] };

function parsePipeline(text: string, allowDecl: 2 | 1 | 0): Pipeline {
  const toks = lex(text);
  let pos = 0;
  const decl: string[] = [];
  // $x := / $k, $v :=
  if (allowDecl && toks[0]?.t === 'var' && !toks[0].path.length) {
    if (toks[1]?.t === ':=' || toks[1]?.t === '=') {
      decl.push(toks[0].v);
      pos = 2;
    } else if (allowDecl === 2 && toks[1]?.t === ',' && toks[2]?.t === 'var' && toks[3]?.t === ':=') {
      decl.push(toks[0].v, (toks[2] as { v: string }).v);
      pos = 4;
    }
  }
  const pipeline = (stopAtParen: boolean): Pipeline => {
    const cmds: Arg[][] = [];
    let cmd: Arg[] = [];
    while (pos < toks.length) {
      const tk = toks[pos]!;
      if (tk.t === ')') {
        if (!stopAtParen) throw perr('unexpected right paren');
        break;
      }
      pos++;
      if (tk.t === '|') {
        if (!cmd.length) throw perr('missing command before "|"');
        cmds.push(cmd);
        cmd = [];
        continue;
      }
      if (tk.t === 'str' || tk.t === 'num' || tk.t === 'bool') cmd.push({ k: 'lit', v: tk.v });
      else if (tk.t === 'nil') cmd.push({ k: 'lit', v: null });
      else if (tk.t === 'field') cmd.push({ k: 'field', path: tk.v });
      else if (tk.t === 'var') cmd.push({ k: 'var', name: tk.v, path: tk.path });
      else if (tk.t === 'ident') {
        if (!FUNCS[tk.v]) throw perr(`function "${tk.v}" not defined`); // as Go: when parsed
        cmd.push({ k: 'fn', name: tk.v });
      }
      else if (tk.t === '(') {
        const inner = pipeline(true);
        if (toks[pos]?.t !== ')') throw perr('unclosed left paren');
        pos++;
        // (pipeline).Field.Chain
        const next = toks[pos];
        let path: string[] = [];
        if (next?.t === 'chain') {
          path = next.v;
          pos++;
        }
        cmd.push({ k: 'pipe', p: inner, path });
      } else throw perr(`unexpected "${tk.t}" in command`);
    }
    if (cmd.length) cmds.push(cmd);
    else if (cmds.length) throw perr('missing command after "|"');
    return { decl: [], cmds, text };
  };
  const p = pipeline(false);
  if (!p.cmds.length && !decl.length) throw perr('missing value for command');
  if (decl.length && !p.cmds.length) throw perr(`missing value for ${decl.join(', ')}`);
  return { ...p, decl };
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
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start)) {
      start++;
      text = text.replace(/\s+$/, '');
    }
    // find the closing braces outside quoted strings
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j]!;
      if (c === '"') {
        j++;
        while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      } else if (c === '`') j = src.indexOf('`', j + 1) < 0 ? src.length : src.indexOf('`', j + 1);
      else if (src.startsWith('}}', j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw perr('unclosed action');
    let body = src.slice(start, close);
    let next = close + 2;
    if (/\s-$/.test(body)) {
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
  // returns the nodes up to {{end}} / {{else}} / {{else if ...}}
  const block = (inBlock: boolean): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < toks.length) {
      const t = toks[pos++]!;
      if (!t.action) {
        nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      if (/^\/\*[\s\S]*\*\/$/.test(t.text)) continue; // {{/* comment */}}
      const kw = /^[a-z]+/.exec(t.text)?.[0] ?? '';
      const rest = t.text.slice(kw.length).trim();
      if (kw === 'end' && !rest) {
        if (!inBlock) throw perr('unexpected {{end}}');
        return { nodes, end: 'end' };
      }
      if (kw === 'else') {
        if (!inBlock) throw perr('unexpected {{else}}');
        return { nodes, end: t.text };
      }
      if (kw === 'if' || kw === 'with' || kw === 'range') {
        nodes.push(control(kw, rest));
        continue;
      }
      if (['define', 'template', 'block', 'break', 'continue'].includes(kw) && !/^\s*[|:=]/.test(rest)) throw perr(`{{${kw}}} is not supported`);
      nodes.push({ kind: 'action', p: parsePipeline(t.text, 1) });
    }
    if (inBlock) throw perr('unexpected EOF');
    return { nodes, end: '' };
  };
  const control = (kw: 'if' | 'with' | 'range', expr: string): Node => {
    if (!expr) throw perr(`missing value for ${kw}`);
    const p = parsePipeline(expr, kw === 'range' ? 2 : 1);
    const b = block(true);
    let elseNodes: Node[] = [];
    if (b.end !== 'end') {
      const chained = b.end.slice(4).trim(); // "else if x" / "else with x"
      if (chained) {
        const ckw = /^[a-z]+/.exec(chained)?.[0];
        if (ckw !== 'if' && ckw !== 'with') throw perr(`unexpected "${chained}" in else`);
        elseNodes = [control(ckw, chained.slice(ckw.length).trim())]; // consumes the shared {{end}}
      } else {
        const e = block(true);
        if (e.end !== 'end') throw perr('expected end; found else');
        elseNodes = e.nodes;
      }
    }
    return { kind: kw, p, body: b.nodes, else: elseNodes };
  };
  return block(false).nodes;
}

// ------------------------------------------------------------------ evaluation

const xerr = (m: string) => new TemplateError(`template: ${m}`);

function typeName(v: Value): string {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return typeof v === 'number' ? 'float64' : typeof v;
}

/** How a missing field reads: docker's inspect falls back to the raw JSON map ("map has no entry"), a list's row is a Go struct. */
let missing: 'map' | 'struct' = 'struct';

function field(v: Value, path: string[], shown: string): Value {
  let prev = '';
  for (const k of path) {
    // a nil struct pointer in docker's Go value (.State.Health): its raw-JSON retry has no such key
    if ((v === null || v === undefined) && missing === 'map' && prev) throw xerr(`executing "" at <${shown}>: map has no entry for key "${prev}"`);
    if (v === null || v === undefined) throw xerr(`executing "" at <${shown}>: nil pointer evaluating interface {}.${k}`);
    prev = k;
    if (typeof v !== 'object' || Array.isArray(v)) throw xerr(`executing "" at <${shown}>: can't evaluate field ${k} in type ${typeName(v)}`);
    if (!(k in (v as object))) throw xerr(missing === 'map' ? `executing "" at <${shown}>: map has no entry for key "${k}"` : `executing "" at <${shown}>: can't evaluate field ${k}`);
    v = (v as Record<string, Value>)[k];
  }
  return v;
}

/** How Go's fmt prints a value with %v (and an action). */
export function show(v: Value): string {
  if (v === undefined || v === null) return '<no value>'; // JSON has no types to tell [] from <nil>
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`;
  return String(v);
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

function num(v: Value, fn: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && fn === 'cmp') return NaN;
  throw xerr(`error calling ${fn}: incompatible types for comparison`);
}

function cmp(a: Value, b: Value, fn: string): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = num(a, fn), y = num(b, fn);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go's fmt verbs with flags, width and precision: %s %v %d %q %x %X %f %t %c %%. */
export function sprintf(f: string, args: Value[]): string {
  let i = 0;
  return f.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g, (_m, flags: string, w: string | undefined, p: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const width = w === '*' ? Number(args[i++]) : w ? Number(w) : 0;
    const prec = p === '*' ? Number(args[i++]) : p !== undefined ? Number(p) : undefined;
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${show(a)})`;
        if (flags.includes('+') && typeof a === 'number' && a >= 0) s = '+' + s;
        break;
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec ?? 6) : `%!f(${typeof a}=${show(a)})`;
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(show(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'q':
        s = JSON.stringify(prec !== undefined ? [...show(a)].slice(0, prec).join('') : show(a));
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeof a}=${show(a)})`;
        break;
      case 'c':
        s = typeof a === 'number' ? String.fromCodePoint(a) : `%!c(${typeof a}=${show(a)})`;
        break;
      default: // s, v and the rest
        s = show(a);
        if (prec !== undefined && (verb === 's' || verb === 'v')) s = [...s].slice(0, prec).join('');
    }
    const len = [...s].length;
    if (width > len) s = flags.includes('-') ? s + ' '.repeat(width - len) : (flags.includes('0') && verb !== 's' && verb !== 'v' ? '0' : ' ').repeat(width - len) + s;
    return s;
  }) + (i < args.length ? `%!(EXTRA ${args.slice(i).map((a) => `${typeName(a)}=${show(a)}`).join(', ')})` : '');
}

const FUNCS: Record<string, (...a: Value[]) => Value> = {
  // docker's (cli/templates): json has no trailing newline, like docker's
  json: (v) => JSON.stringify(v ?? null),
  join: (v, sep) => (Array.isArray(v) ? v.map(show).join(String(sep)) : show(v)),
  split: (v, sep) => String(v).split(String(sep)),
  upper: (v) => String(v).toUpperCase(),
  lower: (v) => String(v).toLowerCase(),
  title: (v) => String(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  pad: (v, pre, post) => ' '.repeat(Number(pre)) + show(v) + ' '.repeat(Number(post)),
  truncate: (v, n) => [...String(v)].slice(0, Number(n)).join(''),
  // Go's
  len: (v) => {
    if (Array.isArray(v) || typeof v === 'string') return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw xerr(`error calling len: len of type ${typeName(v)}`);
  },
  index: (v, ...keys) =>
    keys.reduce<Value>((acc, k) => {
      if (Array.isArray(acc)) {
        const i = Number(k);
        if (!(i >= 0 && i < acc.length)) throw xerr(`error calling index: index out of range: ${show(k)}`);
        return acc[i];
      }
      if (acc && typeof acc === 'object') return (acc as Record<string, Value>)[String(k)] ?? ''; // a missing key: the zero value
      if (acc === null || acc === undefined) throw xerr('error calling index: index of untyped nil');
      throw xerr(`error calling index: can't index item of type ${typeName(acc)}`);
    }, v),
  slice: (v, a, b) => (Array.isArray(v) || typeof v === 'string' ? v.slice(Number(a ?? 0), b === undefined ? undefined : Number(b)) : v),
  print: (...a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + show(x)).join(''),
  println: (...a) => a.map(show).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  not: (v) => !truthy(v),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  eq: (a, ...b) => b.some((x) => (typeof a === 'object' || typeof x === 'object' ? JSON.stringify(a) === JSON.stringify(x) : a === x)),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b, 'lt') < 0,
  le: (a, b) => cmp(a, b, 'le') <= 0,
  gt: (a, b) => cmp(a, b, 'gt') > 0,
  ge: (a, b) => cmp(a, b, 'ge') >= 0,
};

type Scope = { name: string; v: Value }[];

function lookupVar(vars: Scope, name: string): Value {
  for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.name === name) return vars[i]!.v;
  throw xerr(`undefined variable: ${name}`);
}

function evalArg(dot: Value, vars: Scope, a: Arg): Value {
  switch (a.k) {
    case 'lit':
      return a.v;
    case 'field':
      return field(dot, a.path, `.${a.path.join('.')}`);
    case 'var':
      return field(lookupVar(vars, a.name), a.path, a.name + a.path.map((p) => `.${p}`).join(''));
    case 'pipe':
      return field(evalPipeline(dot, vars, a.p), a.path, `(${a.p.text}).${a.path.join('.')}`);
    case 'fn':
      if (!FUNCS[a.name]) throw perr(`function "${a.name}" not defined`);
      return FUNCS[a.name]!();
  }
}

function evalCommand(dot: Value, vars: Scope, cmd: Arg[], piped: Value[]): Value {
  const [head, ...rest] = cmd;
  const args = [...rest.map((x) => evalArg(dot, vars, x)), ...piped];
  if (head!.k === 'fn') {
    const f = FUNCS[head!.name];
    if (!f) throw perr(`function "${head!.name}" not defined`);
    return f(...args);
  }
  const v = evalArg(dot, vars, head!);
  // a method of the row (ps's .Label "k"): called with the arguments
  if (typeof v === 'function') return (v as (...a: Value[]) => Value)(...args);
  return v; // Go refuses arguments to a non-function; a table's header row (format.ts) is a name in its place
}

function evalPipeline(dot: Value, vars: Scope, p: Pipeline): Value {
  let v: Value;
  p.cmds.forEach((c, i) => (v = evalCommand(dot, vars, c, i === 0 ? [] : [v])));
  return v;
}

function declare(vars: Scope, p: Pipeline, v: Value): void {
  if (!p.decl.length) return;
  vars.push({ name: p.decl[0]!, v });
}

function run(nodes: Node[], dot: Value, vars: Scope): string {
  let out = '';
  const mark = vars.length;
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      const v = evalPipeline(dot, vars, n.p);
      if (n.p.decl.length) declare(vars, n.p, v); // {{$x := ...}} prints nothing
      else out += show(v);
    } else if (n.kind === 'if' || n.kind === 'with') {
      const v = evalPipeline(dot, vars, n.p);
      const inner = vars.length;
      declare(vars, n.p, v);
      out += truthy(v) ? run(n.body, n.kind === 'with' ? v : dot, vars) : run(n.else, dot, vars);
      vars.length = inner;
    } else {
      const v = evalPipeline(dot, vars, n.p);
      const entries: [Value, Value][] = Array.isArray(v) ? v.map((x, i) => [i, x])
        : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => [k, (v as Record<string, Value>)[k]])
        : typeof v === 'number' ? Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i])
        : v === null || v === undefined ? [] : (() => { throw xerr(`range can't iterate over ${show(v)}`); })();
      if (!entries.length) out += run(n.else, dot, vars);
      for (const [k, x] of entries) {
        const inner = vars.length;
        if (n.p.decl.length === 1) vars.push({ name: n.p.decl[0]!, v: x });
        else if (n.p.decl.length === 2) vars.push({ name: n.p.decl[0]!, v: k }, { name: n.p.decl[1]!, v: x });
        out += run(n.body, x, vars);
        vars.length = inner;
      }
    }
  }
  vars.length = mark;
  return out;
}

/** Compiles a template once (parse errors throw here); apply it to each value. */
export function compileTemplate(src: string, o: { rawMap?: boolean } = {}): (v: Value) => string {
  const nodes = parse(src);
  return (v) => {
    missing = o.rawMap ? 'map' : 'struct';
    return run(nodes, v, [{ name: '$', v }]);
  };
}
