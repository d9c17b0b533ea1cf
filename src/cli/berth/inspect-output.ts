// How docker's `inspect` verbs print what they found (docker/cli's inspect.Inspect): no format,
// an indented JSON array; `-f json`, the compact array; a template, one line per object, an
// object the template fails on reported after the others ("template parsing error: ...",
// exit 1) and a template that does not parse refused before anything (exit 64).
import { template, TemplateError } from './format.js';

export interface InspectSinks {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** status: 1 when some names were not found (their errors printed already), else 0. */
export function printInspect(io: InspectSinks, objs: unknown[], format: string | undefined, status: number): number {
  if (!format) {
    io.out(JSON.stringify(objs, null, 4) + '\n');
    return status;
  }
  if (format === 'json') {
    io.out(JSON.stringify(objs) + '\n');
    return status;
  }
  let t: (v: unknown) => string;
  try {
    t = template(format, { rawMap: true });
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    io.err(`template parsing error: ${e.message}\n`);
    return 64;
  }
  let out = '';
  const errors: string[] = [];
  for (const o of objs) {
    try {
      out += t(typedView(o)) + '\n';
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      errors.push(`template parsing error: ${e.message}`);
    }
  }
  io.out(out || '\n'); // docker prints an empty line when nothing was printed
  for (const m of errors) io.err(m + '\n');
  return errors.length ? 1 : status;
}

/** docker parses the template before it looks anything up: 64 when it does not parse, else undefined. */
export function inspectFormatRefused(io: InspectSinks, format: string | undefined): number | undefined {
  if (!format || format === 'json') return undefined;
  try {
    template(format, { rawMap: true });
    return undefined;
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    io.err(`template parsing error: ${e.message}\n`);
    return 64;
  }
}

/**
 * What a template sees of a container: docker's CLI runs it on the Go struct first, where a
 * field the JSON omits when empty still exists (a bind mount's .Name, .Config.ExposedPorts,
 * a nil .State.Health or .Config.Healthcheck that `{{if}}` reads as false).
 */
function typedView(o: unknown): unknown {
  if (!o || typeof o !== 'object' || !('State' in o) || !('Config' in o)) return o;
  const c = o as { State: object; Config: object; Mounts?: unknown };
  return {
    ...c,
    State: hidden(c.State, { Health: null }),
    Config: hidden(c.Config, { ExposedPorts: {}, Healthcheck: null }),
    ...(Array.isArray(c.Mounts) ? { Mounts: c.Mounts.map((m: object) => hidden(m, { Name: '', Driver: '' })) } : {}),
  };
}

/** A copy with the missing fields added as non-enumerable: a template reads them, `json` (omitempty) does not print them. */
function hidden(o: object, defaults: Record<string, unknown>): object {
  const copy = { ...o };
  for (const [k, v] of Object.entries(defaults)) if (!(k in copy)) Object.defineProperty(copy, k, { value: v, enumerable: false });
  return copy;
}
