// A small runc-compatible flag parser: `--flag value`, `--flag=value`, `-flag`, short aliases,
// repeated flags. Hand-written because `berth-oci` runs on every container start and importing
// commander measured 11-40 ms here against a ~60 ms node start.

export type FlagType = 'bool' | 'string' | 'strings' | 'int';
export interface FlagSpec {
  type: FlagType;
  alias?: string;
  help: string;
  default?: string;
}
export type FlagSet = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | string[] | boolean | number | undefined>;

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses flags until the first positional argument (urfave/cli semantics, as runc has:
 * everything after it is positional, so `exec ID sh -c x` keeps `-c` for sh).
 */
export function parseFlags(argv: readonly string[], set: FlagSet, stopAtPositional = true): { flags: ParsedFlags; rest: string[] } {
  const flags: ParsedFlags = {};
  const rest: string[] = [];
  const byAlias = new Map<string, string>();
  for (const [name, f] of Object.entries(set)) if (f.alias) byAlias.set(f.alias, name);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (stopAtPositional) {
        rest.push(...argv.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const name = set[key] ? key : byAlias.get(key);
    if (!name) throw new UsageError(`flag provided but not defined: -${key}`);
    const spec = set[name]!;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'bool') {
      flags[name] = value === undefined ? true : !['false', '0', ''].includes(value);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${key}`);
      value = argv[++i]!;
    }
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for flag -${key}: parse error`);
      flags[name] = Number(value);
    } else if (spec.type === 'strings') {
      const prev = (flags[name] as string[] | undefined) ?? [];
      prev.push(value);
      flags[name] = prev;
    } else {
      flags[name] = value;
    }
  }
  return { flags, rest };
}

export function usageOf(set: FlagSet): string {
  return Object.entries(set)
    .map(([n, f]) => {
      const names = `--${n}${f.alias ? `, -${f.alias}` : ''}${f.type === 'bool' ? '' : ' value'}`;
      return `   ${names.padEnd(34)} ${f.help}${f.default ? ` (default: ${f.default})` : ''}`;
    })
    .join('\n');
}
