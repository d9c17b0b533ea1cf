// docker's flag syntax (spf13/pflag): --name value, --name=value, -d, combined short flags
// (-it), -eKEY=VALUE, repeated list flags, "--" ends the flags. Error messages are pflag's,
// since scripts match on them. Hand-written: the CLI starts on every container run.

export type FlagKind = 'bool' | 'string' | 'list' | 'int';

export interface FlagDef {
  name: string;
  short?: string;
  kind: FlagKind;
  help: string;
  /** Placeholder in the help ("string", "bytes", "list"...). */
  value?: string;
  default?: string;
  /** Accepted but left out of the help (docker's deprecated spellings). */
  hidden?: boolean;
}

export type Flags = Record<string, string | string[] | boolean | number | undefined>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed {
  flags: Flags;
  args: string[];
}

/**
 * Parses argv. interspersed=false stops at the first positional argument (docker run/exec: the
 * container's command keeps its own flags).
 */
export function parseArgs(argv: readonly string[], defs: readonly FlagDef[], interspersed: boolean): Parsed {
  const flags: Flags = {};
  const args: string[] = [];
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const set = (d: FlagDef, raw: string, shown: string) => {
    if (d.kind === 'bool') {
      if (!['true', 'false', '1', '0', 'TRUE', 'FALSE', 'True', 'False', 't', 'f'].includes(raw)) {
        throw new UsageError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
      }
      flags[d.name] = ['true', '1', 'TRUE', 'True', 't'].includes(raw);
    } else if (d.kind === 'int') {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      flags[d.name] = Number(raw);
    } else if (d.kind === 'list') {
      ((flags[d.name] as string[] | undefined) ?? (flags[d.name] = [] as string[]) as string[]).push(raw);
    } else flags[d.name] = raw;
  };
  const shownOf = (d: FlagDef) => (d.short ? `-${d.short}, --${d.name}` : `--${d.name}`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const d = byName.get(name);
      if (!d) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(d, a.slice(eq + 1), shownOf(d));
      else if (d.kind === 'bool') flags[d.name] = true;
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        set(d, argv[++i]!, shownOf(d));
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // -abc: bools combined, the last may take a value (-it, -p80:80, -eA=1)
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const d = byShort.get(c);
        if (!d) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        if (d.kind === 'bool') {
          if (a[j + 1] === '=') {
            set(d, a.slice(j + 2), shownOf(d));
            break;
          }
          flags[d.name] = true;
          continue;
        }
        let v = a.slice(j + 1);
        if (v.startsWith('=')) v = v.slice(1);
        if (!v) {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
          v = argv[++i]!;
        }
        set(d, v, shownOf(d));
        break;
      }
      continue;
    }
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
    args.push(a);
  }
  return { flags, args };
}

export function flagHelp(defs: readonly FlagDef[]): string {
  const rows = defs.filter((d) => !d.hidden).map((d) => {
    const names = `${d.short ? `-${d.short}, ` : '    '}--${d.name}${d.kind === 'bool' ? '' : ` ${d.value ?? (d.kind === 'list' ? 'list' : d.kind)}`}`;
    return [names, d.help + (d.default ? ` (default ${d.default})` : '')];
  });
  const w = Math.max(...rows.map((r) => r[0]!.length), 0);
  return rows.map(([n, h]) => `  ${n!.padEnd(w)}   ${h}`).join('\n');
}

/** Typed reads of parsed flags, shared by the command files. */
export const str = (f: Flags, k: string) => f[k] as string | undefined;
export const list = (f: Flags, k: string) => (f[k] as string[] | undefined) ?? [];
export const bool = (f: Flags, k: string) => !!f[k];

/** The repeated `--filter name=value` flags, grouped by name. */
export function filterFlags(f: Flags): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const kv of list(f, 'filter')) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`bad format of filter (expected name=value)`);
    (out[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
  }
  return out;
}
