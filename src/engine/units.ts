// Parsers for docker's flag values: sizes, CPUs, restart policies, ulimits, mounts, devices.
// Each throws an EngineError('invalid') whose message is docker's, so the CLI can prefix the flag.
import { isAbsolute } from 'node:path';
import { invalid } from './errors.js';
import type { DeviceMapping, MountSpec, RestartPolicy, Ulimit } from './types.js';
import { validName } from './ids.js';

const SIZE_RE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const MULT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's RAMInBytes: "64m", "1.5g", "512k", "1024" (bytes); binary multiples. */
export function parseSize(s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) throw invalid(`invalid size: '${s}'`);
    return Math.floor(s);
  }
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw invalid(`invalid size: '${s}'`);
  const n = Number(m[1]);
  if (!Number.isFinite(n)) throw invalid(`invalid size: '${s}'`);
  return Math.floor(n * (m[2] ? MULT[m[2].toLowerCase()]! : 1));
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

export function parseRestartPolicy(s: string): RestartPolicy {
  const [name, max, ...more] = s.split(':');
  if (more.length) throw invalid(`invalid restart policy format: ${s}`);
  switch (name) {
    case '':
    case 'no':
      if (max !== undefined) throw invalid('maximum retry count cannot be used with restart policy \'no\'');
      return { Name: 'no', MaximumRetryCount: 0 };
    case 'always':
    case 'unless-stopped':
      if (max !== undefined) throw invalid(`maximum retry count cannot be used with restart policy '${name}'`);
      return { Name: name, MaximumRetryCount: 0 };
    case 'on-failure': {
      if (max === undefined) return { Name: 'on-failure', MaximumRetryCount: 0 };
      if (!/^\d+$/.test(max)) throw invalid(`invalid restart policy format: maximum retry count must be an integer: ${s}`);
      return { Name: 'on-failure', MaximumRetryCount: Number(max) };
    }
    default:
      throw invalid(`invalid restart policy format: unknown policy '${name}'; use no, always, on-failure[:max-retries] or unless-stopped`);
  }
}

const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as']);

/** --ulimit nofile=1024:2048 */
export function parseUlimit(s: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (!m) throw invalid(`invalid ulimit argument: ${s}`);
  if (!ULIMITS.has(m[1]!)) throw invalid(`invalid ulimit type: ${m[1]}`);
  const soft = Number(m[2]);
  const hard = m[3] !== undefined ? Number(m[3]) : soft;
  if (soft > hard && hard !== -1) throw invalid(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Soft: soft, Hard: hard };
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
  if (m.Type === 'volume' && !validName(src)) {
    throw invalid(`invalid volume specification: '${s}': "${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') m.ReadOnly = true;
    else if (o === 'rw') m.ReadOnly = false;
    else if (PROPAGATIONS.has(o) && m.Type === 'bind') m.Propagation = o;
    else if (o === 'z' || o === 'Z' || o === 'nocopy' || o === 'delegated' || o === 'cached' || o === 'consistent') continue;
    else throw invalid(`invalid volume specification: '${s}': invalid mode: ${o}`);
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
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw invalid(`invalid mount config for type "${type}": use bind, volume or tmpfs`);
  if (!m.Target) throw invalid('invalid mount config: target is required');
  if (!isAbsolute(m.Target)) throw invalid(`invalid mount config: invalid mount path: '${m.Target}' mount path must be absolute`);
  if (type === 'bind' && (!m.Source || !isAbsolute(m.Source))) throw invalid(`invalid mount config for type "bind": ${m.Source ? `source "${m.Source}" must be an absolute path` : 'field Source must not be empty'}`);
  if (type === 'volume' && m.Source && !validName(m.Source)) throw invalid(`invalid mount config for type "volume": invalid volume name "${m.Source}"`);
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
