// Parsers for docker's flag values: sizes, CPUs, restart policies, ulimits, mounts, devices.
// Each throws an EngineError('invalid') whose message is docker's, so the CLI can prefix the flag.
import { isAbsolute } from 'node:path';
import { invalid } from './errors.js';
import type { DeviceMapping, MountSpec, RestartPolicy, Ulimit } from './types.js';
import { volumeNameError } from './volume-names.js';

const MULT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Go's strconv.ParseFloat for the decimal forms a size is written in; NaN when it would fail. */
function goFloat(num: string): number {
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(num) ? Number(num) : NaN;
}

/**
 * docker's RAMInBytes (go-units 0.5): "64m", "1.5g", "512KiB", "1024" (bytes); binary multiples.
 * Its messages too: "invalid size: '-1'" for no number or a negative one, "invalid suffix: 'x'"
 * for an unknown unit (what docker 28 prints for `--memory 12x`).
 */
export function parseSize(s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) throw invalid(`invalid size: '${s}'`);
    return Math.floor(s);
  }
  const str = s.trim();
  let sep = -1;
  for (let i = str.length - 1; i >= 0; i--) if ('0123456789. '.includes(str[i]!)) { sep = i; break; }
  if (sep < 0) throw invalid(`invalid size: '${s}'`);
  const num = str[sep] === ' ' ? str.slice(0, sep) : str.slice(0, sep + 1);
  let sfx = str.slice(sep + 1);
  const n = goFloat(num);
  if (Number.isNaN(n)) throw invalid(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  if (n < 0) throw invalid(`invalid size: '${s}'`);
  if (!sfx) return Math.floor(n);
  const bad = () => invalid(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.floor(n);
  }
  const mul = MULT[sfx[0]!];
  if (mul === undefined || (sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.floor(n * mul);
}

/** --memory-swap: a size, or -1 for unlimited. */
export function parseSwap(s: string | number): number {
  if (s === -1 || s === '-1') return -1;
  return parseSize(s);
}

/** --cpus "1.5" -> NanoCpus. */
export function parseCpus(s: string | number): number {
  const n = typeof s === 'number' ? s : /^\d*\.?\d+$/.test(s.trim()) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n < 0) throw invalid(`failed to parse ${s} as a rational number`);
  return Math.round(n * 1e9);
}

/**
 * --restart, as docker 25+ reads it: the CLI's format errors ("invalid restart policy format: ...")
 * and the daemon's ValidateRestartPolicy ("invalid restart policy: ...").
 */
export function parseRestartPolicy(s: string): RestartPolicy {
  if (s === '') return { Name: 'no', MaximumRetryCount: 0 };
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  const count = colon < 0 ? '' : s.slice(colon + 1);
  if (colon >= 0 && name === '') throw invalid('invalid restart policy format: no policy provided before colon');
  let max = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw invalid('invalid restart policy format: maximum retry count must be an integer');
    max = Number(count);
  }
  switch (name) {
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (max !== 0) throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'${max < 0 ? ' and cannot be negative' : ''}`);
      return { Name: name, MaximumRetryCount: 0 };
    case 'on-failure':
      if (max < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
      return { Name: 'on-failure', MaximumRetryCount: max };
    default:
      throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as']);

/** --ulimit nofile=1024:2048, parsed as go-units' ParseUlimit does (and with its messages). */
export function parseUlimit(s: string): Ulimit {
  const eq = s.indexOf('=');
  if (eq < 0) throw invalid(`invalid ulimit argument: ${s}`);
  const name = s.slice(0, eq);
  if (!ULIMITS.has(name)) throw invalid(`invalid ulimit type: ${name}`);
  const vals = s.slice(eq + 1).split(':');
  if (vals.length > 2) throw invalid(`too many limit value arguments - ${s.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const int = (v: string) => {
    if (!/^[+-]?\d+$/.test(v)) throw invalid(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  };
  const hard = vals.length === 2 ? int(vals[1]!) : undefined;
  const soft = int(vals[0]!);
  const h = hard ?? soft;
  if (h !== -1 && soft > h) throw invalid(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${h}`);
  return { Name: name, Soft: soft, Hard: h };
}

/** KEY=VALUE; a bare KEY takes its value from `env` (docker: from the CLI's environment). */
export function parseEnv(list: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const e of list) {
    if (!e || e.startsWith('=')) throw invalid(`invalid environment variable: ${e}`);
    if (e.includes('=')) out.push(e);
    else if (env[e] !== undefined) out.push(`${e}=${env[e]}`);
  }
  return out;
}

/** An --env-file's lines (comments and blank lines skipped). */
export function parseEnvFile(text: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/^\s+/, '')).filter((l) => l && !l.startsWith('#'));
  return parseEnv(lines, env);
}

/** KEY=VALUE pairs (labels, sysctls, log options). */
export function parseKeyValues(list: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i === 0) throw invalid(`invalid ${what}: ${kv}`);
    if (i < 0) out[kv] = '';
    else out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** -v: /host:/ctr[:opts] (bind), name:/ctr[:opts] (named volume), /ctr (anonymous volume). */
export function parseVolumeFlag(s: string): MountSpec {
  const parts = s.split(':');
  if (parts.length === 1) {
    if (!isAbsolute(parts[0]!)) throw invalid(`invalid volume specification: '${s}': the container path must be absolute`);
    return { Type: 'volume', Source: '', Target: parts[0]!, ReadOnly: false };
  }
  if (parts.length > 3) throw invalid(`invalid volume specification: '${s}'`);
  const [src, dst, opts = ''] = parts as [string, string, string?];
  if (!src || !dst) throw invalid(`invalid volume specification: '${s}'`);
  if (!isAbsolute(dst)) throw invalid(`invalid volume specification: '${s}': invalid mount config: the container path '${dst}' must be absolute`);
  const m: MountSpec = { Type: isAbsolute(src) ? 'bind' : 'volume', Source: src, Target: dst, ReadOnly: false };
  const badName = m.Type === 'volume' ? volumeNameError(src) : undefined;
  if (badName) throw invalid(`create ${src}: ${badName}`); // what docker's daemon says creating it
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') m.ReadOnly = true;
    else if (o === 'rw') m.ReadOnly = false;
    else if (PROPAGATIONS.has(o) && m.Type === 'bind') m.Propagation = o;
    else if (o === 'z' || o === 'Z' || o === 'nocopy' || o === 'delegated' || o === 'cached' || o === 'consistent') continue;
    else throw invalid(`invalid mode: ${o}`); // docker's daemon says no more
  }
  return m;
}

/** --mount type=bind,source=/a,target=/b,readonly */
export function parseMountFlag(s: string): MountSpec {
  const m: Partial<MountSpec> & { ReadOnly: boolean } = { ReadOnly: false };
  let type = 'volume';
  for (const field of s.split(',')) {
    const i = field.indexOf('=');
    const k = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? undefined : field.slice(i + 1);
    switch (k) {
      case 'type':
        type = v ?? '';
        break;
      case 'source':
      case 'src':
        m.Source = v ?? '';
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.Target = v ?? '';
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = v === undefined || v === 'true' || v === '1';
        break;
      case 'bind-propagation':
        if (!v || !PROPAGATIONS.has(v)) throw invalid(`invalid mount config: invalid propagation mode: ${v}`);
        m.Propagation = v;
        break;
      case 'tmpfs-size':
        m.TmpfsSize = parseSize(v ?? '');
        break;
      case 'tmpfs-mode':
        if (!v || !/^[0-7]+$/.test(v)) throw invalid(`invalid mount config: invalid tmpfs-mode: ${v}`);
        m.TmpfsMode = parseInt(v, 8);
        break;
      case 'volume-label': {
        const [lk, ...lv] = (v ?? '').split('=');
        m.VolumeLabels = { ...(m.VolumeLabels ?? {}), [lk!]: lv.join('=') };
        break;
      }
      case 'volume-nocopy':
      case 'consistency':
        break;
      default:
        throw invalid(`invalid field '${k}' must be a key=value pair`);
    }
  }
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw invalid(`invalid mount config for type "${type}": mount type unknown (use bind, volume or tmpfs)`);
  if (!m.Target) throw invalid('invalid mount config: target is required');
  if (!isAbsolute(m.Target)) throw invalid(`invalid mount config: invalid mount path: '${m.Target}' mount path must be absolute`);
  if (type === 'bind' && (!m.Source || !isAbsolute(m.Source))) throw invalid(`invalid mount config for type "bind": ${m.Source ? `source "${m.Source}" must be an absolute path` : 'field Source must not be empty'}`);
  const badSource = type === 'volume' && m.Source ? volumeNameError(m.Source) : undefined;
  if (badSource) throw invalid(`create ${m.Source}: ${badSource}`);
  if (type === 'tmpfs' && m.Source) throw invalid('invalid mount config for type "tmpfs": field Source must not be specified');
  return { ...m, Type: type as MountSpec['Type'], Source: m.Source ?? '', Target: m.Target };
}

/** --tmpfs /run:rw,size=64m */
export function parseTmpfsFlag(s: string): [string, string] {
  const i = s.indexOf(':');
  const dst = i < 0 ? s : s.slice(0, i);
  if (!isAbsolute(dst)) throw invalid(`invalid tmpfs mount: the path '${dst}' must be absolute`);
  return [dst, i < 0 ? '' : s.slice(i + 1)];
}

/** --device /dev/sda[:/dev/xvda][:rwm] */
export function parseDevice(s: string): DeviceMapping {
  const parts = s.split(':');
  const host = parts[0] ?? '';
  let ctr = host;
  let perms = 'rwm';
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1]!)) perms = parts[1]!;
    else ctr = parts[1]!;
  } else if (parts.length === 3) {
    ctr = parts[1]!;
    perms = parts[2]!;
  } else if (parts.length > 3) throw invalid(`invalid device specification: ${s}`);
  if (!isAbsolute(host) || !isAbsolute(ctr)) throw invalid(`invalid device specification: ${s}: paths must be absolute`);
  if (!/^[rwm]+$/.test(perms)) throw invalid(`invalid device mode: ${perms}`);
  return { PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms };
}

/** "1,3-5" style cpuset lists. */
export function validCpuset(s: string): boolean {
  return /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s);
}
