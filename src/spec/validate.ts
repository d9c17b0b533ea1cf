// Validation of OCI runtime spec v1.2 config.json (and of `berth-oci exec --process` files).
//
// Written by hand on purpose: importing zod measured 17-35 ms, and `berth-oci run` / `create` must
// start fast (DESIGN.md principle 6). This module imports nothing but its siblings in src/spec/.
//
// parseSpec() is the door: it bounds the input (size, nesting) before JSON.parse, then walks every
// field of ./types.ts, building a fresh object that holds only known fields with checked types, so
// code past this point can trust a Spec. Unknown fields are ignored (forward compatibility), a
// known field of the wrong type is an error, and `null` for an optional field means "not set" (as
// Go's encoding/json, hence runc, treats it). Every error is a SpecError naming the file, the JSON
// path of the field and the fix.
//
// Numbers: JSON numbers become doubles, so 64-bit fields are exact only up to 2^53-1; the literal
// 18446744073709551615 (2^64-1, "unlimited" for rlimits) reads as 2^64 and is accepted for uint64
// fields, and consumers must clamp it (e.g. to RLIM_INFINITY). Seccomp argument values are compared
// bit for bit, so there only safe integers (or exactly that all-ones literal) are accepted.

import { isCapabilityName, suggestCapability } from './capabilities.js';
import {
  DEVICE_CGROUP_TYPES,
  DEVICE_TYPES,
  HOOK_NAMES,
  IOPRIO_CLASSES,
  IPC_SYSCTLS,
  MAX_ID_MAPPINGS,
  NAMESPACE_TYPES,
  PERSONALITY_DOMAINS,
  RLIMITS,
  ROOTFS_PROPAGATIONS,
  SCHED_FLAGS,
  SCHED_POLICIES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHS,
  SECCOMP_ERRNO_ACTIONS,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  TIME_OFFSET_CLOCKS,
} from './constants.js';
import { SpecError } from './errors.js';
import { isIdmapOption } from './mount-options.js';
import type {
  Box,
  CPUAffinity,
  Hook,
  Hooks,
  IDMapping,
  IOPriority,
  Linux,
  LinuxBlockIO,
  LinuxCapabilities,
  LinuxCPU,
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxIntelRdt,
  LinuxInterfacePriority,
  LinuxMemory,
  LinuxNamespace,
  LinuxNetwork,
  LinuxPersonality,
  LinuxPids,
  LinuxRdma,
  LinuxResources,
  LinuxSeccomp,
  LinuxSeccompArg,
  LinuxSyscall,
  LinuxThrottleDevice,
  LinuxTimeOffset,
  LinuxWeightDevice,
  Mount,
  NamespaceType,
  POSIXRlimit,
  Process,
  Root,
  Scheduler,
  Spec,
  User,
} from './types.js';

/** Largest config.json accepted, in UTF-16 code units (a real one is a few KiB). */
export const MAX_SPEC_SIZE = 4 * 1024 * 1024;
/** Deepest array/object nesting accepted (config.json needs 5). */
export const MAX_SPEC_DEPTH = 64;

const DEFAULT_FILE = 'config.json';

export interface ParseSpecOptions {
  /** Bundle directory; only used to name the file in error messages. */
  bundle?: string;
}

/** Parse and validate the text of a config.json. Throws SpecError on any problem. */
export function parseSpec(text: string, opts: ParseSpecOptions = {}): Spec {
  const file = opts.bundle ? `${opts.bundle.replace(/\/+$/, '')}/config.json` : DEFAULT_FILE;
  return reportingAs(file, () => spec(parseBoundedJSON(text)));
}

/** Validate an already-parsed config.json value (e.g. one built by the engine). */
export function validateSpec(obj: unknown, file: string = DEFAULT_FILE): Spec {
  return reportingAs(file, () => spec(obj));
}

/**
 * Validate a process object, as given to `berth-oci exec --process FILE`. `where` names the file
 * in error messages; field paths are relative to the object (e.g. "user.uid").
 */
export function validateProcess(obj: unknown, where: string): Process {
  return reportingAs(where, () => proc(obj, ''));
}

/** Parse and validate the text of a process.json (`berth-oci exec --process FILE`). */
export function parseProcess(text: string, where: string = 'process.json'): Process {
  return reportingAs(where, () => proc(parseBoundedJSON(text, where), ''));
}

/**
 * JSON.parse with bounds: at most MAX_SPEC_SIZE characters and MAX_SPEC_DEPTH levels of nesting,
 * both checked before parsing, so hostile input costs at most one linear scan.
 */
export function parseBoundedJSON(text: string, file: string = DEFAULT_FILE): unknown {
  return reportingAs(file, () => {
    if (typeof text !== 'string') fail('', `expected the JSON text as a string, got ${describe(text)}`);
    if (text.length > MAX_SPEC_SIZE) {
      fail('', `file too large: ${text.length} characters (the limit is ${MAX_SPEC_SIZE}, 4 MiB)`);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // tolerate a UTF-8 byte order mark
    checkNesting(text);
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      return fail('', `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/**
 * The path under /proc/sys written for a sysctl key, accepting both the dotted form
 * ("net.ipv4.conf.eth0/1.rp_filter") and the slash form ("net/ipv4/conf/eth0.1/rp_filter"), as
 * sysctl(8) and runc do. Returns undefined if the key is malformed or would escape /proc/sys.
 */
export function sysctlPath(key: string): string | undefined {
  if (key === '' || key.includes('\0')) return undefined;
  let k = key;
  const slash = k.indexOf('/');
  if (slash !== -1) {
    const dot = k.indexOf('.');
    if (dot === -1 || slash < dot) k = k.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
  }
  const parts = k.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.includes('/')) parts[i] = part.replace(/\//g, '.');
  }
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') return undefined;
  }
  return parts.join('/');
}

/** The dotted form of a sysctl key ("net/ipv4/ip_forward" -> "net.ipv4.ip_forward"), or undefined. */
export function sysctlName(key: string): string | undefined {
  const path = sysctlPath(key);
  return path === undefined ? undefined : path.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

// ---------------------------------------------------------------------------------------------
// Plumbing

type Obj = Record<string, unknown>;
type Check<T> = (v: unknown, path: string) => T;

function fail(field: string, detail: string): never {
  throw new SpecError(DEFAULT_FILE, field, detail);
}

function reportingAs<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SpecError) throw e.file === file ? e : e.withFile(file);
    // Validation only recurses as deep as the schema, so this cannot come from parsed JSON; it guards
    // against a stack overflow however an object handed to validateSpec() was built.
    if (e instanceof RangeError) throw new SpecError(file, '', `cannot validate: ${e.message}`);
    throw e;
  }
}

function checkNesting(text: string): void {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string: find the closing quote that is not escaped.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_SPEC_DEPTH) {
        fail('', `nesting deeper than ${MAX_SPEC_DEPTH} levels at offset ${i}; a config.json needs far less`);
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `string ${quote(v)}`;
    case 'number':
      return `number ${v}`;
    case 'boolean':
      return `boolean ${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function at(path: string, key: string): string {
  if (key.length <= 64 && IDENT.test(key)) return path === '' ? key : path + '.' + key;
  return `${path}[${quote(key)}]`;
}

function idx(path: string, i: number): string {
  return `${path}[${i}]`;
}

function oneOf(values: readonly string[]): string {
  return `expected one of: ${values.join(', ')}`;
}

function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(path, `must be an object, got ${describe(v)}`);
  }
  return v as Obj;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string, got ${describe(v)}`);
  return v;
}

/** A string handed to the kernel as a C string: no NUL bytes. */
function cstring(v: unknown, path: string): string {
  const s = string(v, path);
  if (s.includes('\0')) fail(path, `must not contain a NUL byte (got ${quote(s)})`);
  return s;
}

function nonEmpty(v: unknown, path: string): string {
  const s = cstring(v, path);
  if (s === '') fail(path, 'must not be empty');
  return s;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${describe(v)}`);
  return v;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${describe(v)}`);
  return v;
}

function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (v, path) => array(v, path).map((item, i) => check(item, idx(path, i)));
}

function enumOf<T extends string>(values: readonly T[], what: string): Check<T> {
  return (v, path) => {
    const s = string(v, path);
    if (!(values as readonly string[]).includes(s)) fail(path, `unknown ${what} ${quote(s)} (${oneOf(values)})`);
    return s as T;
  };
}

/** A map of string keys; "__proto__" and friends are stored as plain own properties. */
function record<T>(check: (v: unknown, path: string, key: string) => T): Check<Record<string, T>> {
  return (v, path) => {
    const o = object(v, path);
    const out: Record<string, T> = {};
    for (const key of Object.keys(o)) {
      const value = check(o[key], at(path, key), key);
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
}

function get(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** An optional field: absent or null gives undefined. */
function opt<T>(o: Obj, key: string, path: string, check: Check<T>): T | undefined {
  const v = get(o, key);
  return v === undefined || v === null ? undefined : check(v, at(path, key));
}

/** A required field. */
function req<T>(o: Obj, key: string, path: string, check: Check<T>, hint = ''): T {
  const v = get(o, key);
  if (v === undefined || v === null) fail(at(path, key), `is required${hint}`);
  return check(v, at(path, key));
}

/** Set out[key] = value unless value is undefined (keeps validated objects free of undefined). */
function put<T extends object, K extends keyof T>(out: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

const RANGES = {
  uint8: [0, 0xff, '0..255'],
  uint16: [0, 0xffff, '0..65535'],
  uint32: [0, 0xffffffff, '0..4294967295'],
  int32: [-0x80000000, 0x7fffffff, '-2147483648..2147483647'],
  // 2^64-1 and 2^63-1 are not doubles; their JSON literals read as 2^64 and 2^63.
  uint64: [0, 2 ** 64, '0..18446744073709551615'],
  int64: [-(2 ** 63), 2 ** 63, '-9223372036854775808..9223372036854775807'],
} as const;
type IntKind = keyof typeof RANGES;

function integer(kind: IntKind): Check<number> {
  const [min, max, text] = RANGES[kind];
  return (v, path) => {
    if (typeof v !== 'number') fail(path, `must be an integer (${kind}), got ${describe(v)}`);
    if (!Number.isInteger(v) || v < min || v > max) {
      fail(path, `must be an integer in the range ${text} (${kind}), got ${v}`);
    }
    return v === 0 ? 0 : v; // no -0
  };
}

function intIn(min: number, max: number, why = ''): Check<number> {
  return (v, path) => {
    if (typeof v !== 'number') fail(path, `must be an integer, got ${describe(v)}`);
    if (!Number.isInteger(v) || v < min || v > max) fail(path, `must be an integer from ${min} to ${max}${why}, got ${v}`);
    return v === 0 ? 0 : v;
  };
}

const uint16 = integer('uint16');
const uint32 = integer('uint32');
const int32 = integer('int32');
const uint64 = integer('uint64');
const int64 = integer('int64');
const stringArray = arrayOf(cstring);

/** -1 (meaning "unlimited") or a non-negative int64. */
function limit(v: unknown, path: string): number {
  const n = int64(v, path);
  if (n < -1) fail(path, `must be -1 (unlimited) or a non-negative number, got ${n}`);
  return n;
}

function absolutePath(v: unknown, path: string, what: string): string {
  const s = nonEmpty(v, path);
  if (!s.startsWith('/')) {
    fail(path, `${what} must be an absolute path, got ${quote(s)} (did you mean ${quote(`/${s.replace(/^\.\/+/, '')}`)}?)`);
  }
  return s;
}

/** An absolute path inside the container that the runtime resolves itself: no ".." components. */
function containerPath(v: unknown, path: string, what: string): string {
  const s = absolutePath(v, path, what);
  if (s.split('/').includes('..')) {
    fail(path, `${what} must not contain ".." components, got ${quote(s)} (write the path it resolves to)`);
  }
  return s;
}

function envList(v: unknown, path: string): string[] {
  return arrayOf((item, p) => {
    const s = cstring(item, p);
    const eq = s.indexOf('=');
    if (eq < 0) fail(p, `environment entry ${quote(s)} must have the form NAME=value (missing "=")`);
    if (eq === 0) fail(p, `environment entry ${quote(s)} has an empty variable name`);
    return s;
  })(v, path);
}

const CPU_LIST_ITEM = /^(\d+)(?:-(\d+)(?::\d+\/\d+)?)?$/;

/** A Linux CPU or NUMA node list such as "0-3,8,10-11" (empty means "not set"). */
function cpuList(v: unknown, path: string): string {
  const s = cstring(v, path);
  if (s.trim() === '') return s;
  for (const item of s.split(',')) {
    const m = CPU_LIST_ITEM.exec(item.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      fail(path, `invalid CPU list ${quote(s)}: ${quote(item)} is not N or N-M with N <= M (example: "0-3,6")`);
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// config.json

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function ociVersion(v: unknown, path: string): string {
  const s = string(v, path);
  const m = SEMVER.exec(s);
  if (!m) fail(path, `${quote(s)} is not a SemVer 2.0.0 version such as "1.2.0"`);
  if (m[1] !== '1') fail(path, `unsupported ociVersion ${quote(s)}: berth implements runtime spec 1.x (1.0.0 to 1.2)`);
  return s;
}

function spec(v: unknown): Spec {
  const o = object(v, '');
  const out: Spec = {
    ociVersion: req(o, 'ociVersion', '', ociVersion, ' (the runtime spec version, e.g. "1.2.0")'),
  };
  put(out, 'root', opt(o, 'root', '', root));
  put(out, 'mounts', opt(o, 'mounts', '', arrayOf(mount)));
  put(out, 'process', opt(o, 'process', '', proc));
  put(out, 'hostname', opt(o, 'hostname', '', hostname('hostname')));
  put(out, 'domainname', opt(o, 'domainname', '', hostname('domainname')));
  put(out, 'hooks', opt(o, 'hooks', '', hooks));
  put(out, 'annotations', opt(o, 'annotations', '', annotations));
  put(out, 'linux', opt(o, 'linux', '', linux));
  crossChecks(out);
  return out;
}

function root(v: unknown, path: string): Root {
  const o = object(v, path);
  const out: Root = {
    path: req(o, 'path', path, nonEmpty, ' (the root filesystem, absolute or relative to the bundle, e.g. "rootfs")'),
  };
  put(out, 'readonly', opt(o, 'readonly', path, boolean));
  return out;
}

function hostname(what: string): Check<string> {
  return (v, path) => {
    const s = cstring(v, path);
    if (s.length > 64) fail(path, `${what} is longer than 64 characters (the kernel limit)`);
    return s;
  };
}

function annotations(v: unknown, path: string): Record<string, string> {
  return record((value, p, key) => {
    if (key === '') fail(path, 'annotation keys must not be empty');
    return string(value, p);
  })(v, path);
}

function idMapping(v: unknown, path: string): IDMapping {
  const o = object(v, path);
  const out: IDMapping = {
    containerID: req(o, 'containerID', path, uint32),
    hostID: req(o, 'hostID', path, uint32),
    size: req(o, 'size', path, uint32),
  };
  if (out.size === 0) fail(at(path, 'size'), 'must be at least 1 (a mapping of 0 ids maps nothing)');
  if (out.containerID + out.size > 2 ** 32) {
    fail(path, `container range ${out.containerID}+${out.size} goes past 4294967295`);
  }
  if (out.hostID + out.size > 2 ** 32) fail(path, `host range ${out.hostID}+${out.size} goes past 4294967295`);
  return out;
}

/** A uid or gid map: well-formed entries, no overlap in either id space, within the kernel limit. */
function idMappings(v: unknown, path: string): IDMapping[] {
  const maps = arrayOf(idMapping)(v, path);
  if (maps.length > MAX_ID_MAPPINGS) {
    fail(path, `has ${maps.length} entries; the kernel accepts at most ${MAX_ID_MAPPINGS}`);
  }
  for (const side of ['containerID', 'hostID'] as const) {
    const order = maps.map((_, i) => i).sort((a, b) => maps[a]![side] - maps[b]![side]);
    for (let k = 1; k < order.length; k++) {
      const prev = maps[order[k - 1]!]!;
      const cur = maps[order[k]!]!;
      if (cur[side] < prev[side] + prev.size) {
        const space = side === 'containerID' ? 'container' : 'host';
        const [i, j] = [order[k - 1]!, order[k]!].sort((a, b) => a - b);
        fail(
          idx(path, j!),
          `${space} id range ${cur[side]}-${cur[side] + cur.size - 1} overlaps ${idx(path, i!)} ` +
            `(${prev[side]}-${prev[side] + prev.size - 1}); mapped ranges must not overlap`,
        );
      }
    }
  }
  return maps;
}

function isMapped(maps: readonly IDMapping[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

function mount(v: unknown, path: string): Mount {
  const o = object(v, path);
  const out: Mount = {
    destination: containerPath(
      get(o, 'destination') ?? fail(at(path, 'destination'), 'is required (where to mount, inside the container)'),
      at(path, 'destination'),
      'mount destination',
    ),
  };
  put(out, 'type', opt(o, 'type', path, cstring));
  put(out, 'source', opt(o, 'source', path, cstring));
  put(
    out,
    'options',
    opt(
      o,
      'options',
      path,
      arrayOf((item, p) => nonEmpty(item, p)),
    ),
  );
  put(out, 'uidMappings', opt(o, 'uidMappings', path, idMappings));
  put(out, 'gidMappings', opt(o, 'gidMappings', path, idMappings));
  if ((out.uidMappings === undefined) !== (out.gidMappings === undefined)) {
    const missing = out.uidMappings === undefined ? 'uidMappings' : 'gidMappings';
    fail(at(path, missing), 'is required when the other of uidMappings/gidMappings is set (give both)');
  }
  return out;
}

function hooks(v: unknown, path: string): Hooks {
  const o = object(v, path);
  const out: Hooks = {};
  for (const name of HOOK_NAMES) put(out, name, opt(o, name, path, arrayOf(hook)));
  return out;
}

function hook(v: unknown, path: string): Hook {
  const o = object(v, path);
  const out: Hook = {
    path: absolutePath(get(o, 'path') ?? fail(at(path, 'path'), 'is required (the hook executable)'), at(path, 'path'), 'hook path'),
  };
  put(out, 'args', opt(o, 'args', path, stringArray));
  put(out, 'env', opt(o, 'env', path, envList));
  put(out, 'timeout', opt(o, 'timeout', path, intIn(1, 0x7fffffff, ' seconds')));
  return out;
}

// ---------------------------------------------------------------------------------------------
// process

function proc(v: unknown, path: string): Process {
  const o = object(v, path);
  const out: Process = {
    user: req(o, 'user', path, user, ' (at least {"uid": 0, "gid": 0})'),
    cwd: absolutePath(
      get(o, 'cwd') ?? fail(at(path, 'cwd'), 'is required (the working directory, e.g. "/")'),
      at(path, 'cwd'),
      'cwd',
    ),
  };
  put(out, 'terminal', opt(o, 'terminal', path, boolean));
  put(out, 'consoleSize', opt(o, 'consoleSize', path, box));
  const args = req(o, 'args', path, stringArray, ' (the command to run, e.g. ["sh"])');
  if (args.length === 0) fail(at(path, 'args'), 'must have at least one entry (the command to run)');
  if (args[0] === '') fail(idx(at(path, 'args'), 0), 'the command must not be empty');
  out.args = args;
  put(out, 'commandLine', opt(o, 'commandLine', path, string));
  put(out, 'env', opt(o, 'env', path, envList));
  put(out, 'capabilities', opt(o, 'capabilities', path, capabilities));
  put(out, 'rlimits', opt(o, 'rlimits', path, rlimits));
  put(out, 'noNewPrivileges', opt(o, 'noNewPrivileges', path, boolean));
  put(out, 'apparmorProfile', opt(o, 'apparmorProfile', path, cstring));
  put(out, 'oomScoreAdj', opt(o, 'oomScoreAdj', path, intIn(-1000, 1000)));
  put(out, 'selinuxLabel', opt(o, 'selinuxLabel', path, cstring));
  put(out, 'ioPriority', opt(o, 'ioPriority', path, ioPriority));
  put(out, 'scheduler', opt(o, 'scheduler', path, scheduler));
  put(out, 'execCPUAffinity', opt(o, 'execCPUAffinity', path, cpuAffinity));
  return out;
}

function user(v: unknown, path: string): User {
  const o = object(v, path);
  const out: User = { uid: req(o, 'uid', path, uint32), gid: req(o, 'gid', path, uint32) };
  put(out, 'umask', opt(o, 'umask', path, intIn(0, 0o7777, ' (0o7777)')));
  put(out, 'additionalGids', opt(o, 'additionalGids', path, arrayOf(uint32)));
  put(out, 'username', opt(o, 'username', path, cstring));
  return out;
}

function box(v: unknown, path: string): Box {
  const o = object(v, path);
  const why = ' (a terminal size in rows/columns)';
  return { height: req(o, 'height', path, intIn(0, 0xffff, why)), width: req(o, 'width', path, intIn(0, 0xffff, why)) };
}

const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

function capabilities(v: unknown, path: string): LinuxCapabilities {
  const o = object(v, path);
  const out: LinuxCapabilities = {};
  const capability: Check<string> = (item, p) => {
    const s = string(item, p);
    if (!isCapabilityName(s)) {
      const guess = suggestCapability(s);
      fail(
        p,
        `unknown capability ${quote(s)}` +
          (guess ? ` (did you mean ${quote(guess)}?)` : ' (expected a name such as "CAP_NET_BIND_SERVICE"; see capabilities(7))'),
      );
    }
    return s;
  };
  for (const set of CAPABILITY_SETS) put(out, set, opt(o, set, path, arrayOf(capability)));
  return out;
}

const RLIMIT_NAMES = Object.keys(RLIMITS);

function rlimits(v: unknown, path: string): POSIXRlimit[] {
  const seen = new Map<string, number>();
  return array(v, path).map((item, i) => {
    const p = idx(path, i);
    const o = object(item, p);
    const type = req(o, 'type', p, string, ' (e.g. "RLIMIT_NOFILE")');
    if (!Object.hasOwn(RLIMITS, type)) {
      const guess = `RLIMIT_${type.toUpperCase().replace(/^RLIMIT_/, '')}`;
      fail(
        at(p, 'type'),
        `unknown rlimit ${quote(type)} (` +
          (Object.hasOwn(RLIMITS, guess) ? `did you mean ${quote(guess)}?` : oneOf(RLIMIT_NAMES)) +
          ')',
      );
    }
    const first = seen.get(type);
    if (first !== undefined) fail(at(p, 'type'), `duplicate rlimit ${quote(type)} (already set at ${idx(path, first)})`);
    seen.set(type, i);
    const out: POSIXRlimit = { type, hard: req(o, 'hard', p, uint64), soft: req(o, 'soft', p, uint64) };
    if (out.soft > out.hard) fail(at(p, 'soft'), `soft limit ${out.soft} is above the hard limit ${out.hard}`);
    return out;
  });
}

function ioPriority(v: unknown, path: string): IOPriority {
  const o = object(v, path);
  return {
    class: req(o, 'class', path, enumOf(IOPRIO_CLASSES, 'I/O priority class')),
    priority: req(o, 'priority', path, intIn(0, 7, ' (0 is the highest)')),
  };
}

function scheduler(v: unknown, path: string): Scheduler {
  const o = object(v, path);
  const out: Scheduler = { policy: req(o, 'policy', path, enumOf(SCHED_POLICIES, 'scheduler policy')) };
  put(out, 'nice', opt(o, 'nice', path, int32));
  put(out, 'priority', opt(o, 'priority', path, int32));
  put(out, 'flags', opt(o, 'flags', path, arrayOf(enumOf(SCHED_FLAGS, 'scheduler flag'))));
  put(out, 'runtime', opt(o, 'runtime', path, uint64));
  put(out, 'deadline', opt(o, 'deadline', path, uint64));
  put(out, 'period', opt(o, 'period', path, uint64));
  // The same rules as runc (sched_setattr(2)).
  if ((out.policy === 'SCHED_OTHER' || out.policy === 'SCHED_BATCH') && out.nice !== undefined) {
    if (out.nice < -20 || out.nice > 19) fail(at(path, 'nice'), `must be from -20 to 19 for ${out.policy}, got ${out.nice}`);
  }
  if (out.priority !== undefined && out.priority !== 0) {
    if (out.policy !== 'SCHED_FIFO' && out.policy !== 'SCHED_RR') {
      fail(at(path, 'priority'), `can only be set for SCHED_FIFO or SCHED_RR, not ${out.policy}`);
    }
    if (out.priority < 1 || out.priority > 99) fail(at(path, 'priority'), `must be from 1 to 99, got ${out.priority}`);
  }
  if (out.policy !== 'SCHED_DEADLINE') {
    for (const k of ['runtime', 'deadline', 'period'] as const) {
      if (out[k]) fail(at(path, k), `can only be set for SCHED_DEADLINE, not ${out.policy}`);
    }
  }
  return out;
}

function cpuAffinity(v: unknown, path: string): CPUAffinity {
  const o = object(v, path);
  const out: CPUAffinity = {};
  put(out, 'initial', opt(o, 'initial', path, cpuList));
  put(out, 'final', opt(o, 'final', path, cpuList));
  return out;
}

// ---------------------------------------------------------------------------------------------
// linux

function linux(v: unknown, path: string): Linux {
  const o = object(v, path);
  const out: Linux = {};
  put(out, 'uidMappings', opt(o, 'uidMappings', path, idMappings));
  put(out, 'gidMappings', opt(o, 'gidMappings', path, idMappings));
  put(out, 'timeOffsets', opt(o, 'timeOffsets', path, record(timeOffset)));
  put(out, 'sysctl', opt(o, 'sysctl', path, record(sysctl)));
  put(out, 'resources', opt(o, 'resources', path, resources));
  put(out, 'cgroupsPath', opt(o, 'cgroupsPath', path, cgroupsPath));
  put(out, 'namespaces', opt(o, 'namespaces', path, namespaces));
  put(out, 'devices', opt(o, 'devices', path, arrayOf(device)));
  put(out, 'seccomp', opt(o, 'seccomp', path, seccomp));
  put(out, 'rootfsPropagation', opt(o, 'rootfsPropagation', path, enumOf(ROOTFS_PROPAGATIONS, 'rootfs propagation')));
  const pathList = (what: string): Check<string[]> => arrayOf((item, p) => containerPath(item, p, what));
  put(out, 'maskedPaths', opt(o, 'maskedPaths', path, pathList('masked path')));
  put(out, 'readonlyPaths', opt(o, 'readonlyPaths', path, pathList('read-only path')));
  put(out, 'mountLabel', opt(o, 'mountLabel', path, cstring));
  put(out, 'intelRdt', opt(o, 'intelRdt', path, intelRdt));
  put(out, 'personality', opt(o, 'personality', path, personality));
  return out;
}

function timeOffset(v: unknown, path: string, clock: string): LinuxTimeOffset {
  if (!(TIME_OFFSET_CLOCKS as readonly string[]).includes(clock)) {
    fail(path, `unknown clock ${quote(clock)} (${oneOf(TIME_OFFSET_CLOCKS)})`);
  }
  const o = object(v, path);
  const out: LinuxTimeOffset = {};
  put(out, 'secs', opt(o, 'secs', path, int64));
  put(out, 'nanosecs', opt(o, 'nanosecs', path, intIn(0, 999_999_999, ' (less than one second)')));
  return out;
}

function sysctl(v: unknown, path: string, key: string): string {
  if (sysctlPath(key) === undefined) {
    fail(path, `invalid sysctl name ${quote(key)}: use dotted names such as "net.ipv4.ip_forward" (no empty, "." or ".." parts)`);
  }
  return cstring(v, path);
}

function cgroupsPath(v: unknown, path: string): string {
  const s = cstring(v, path);
  if (s.split(/[/:]/).includes('..')) fail(path, `must not contain ".." components, got ${quote(s)}`);
  return s;
}

const namespaceType = enumOf(NAMESPACE_TYPES, 'namespace');
const NAMESPACE_HINT = ` (${oneOf(NAMESPACE_TYPES)})`;

function namespaces(v: unknown, path: string): LinuxNamespace[] {
  const seen = new Map<string, number>();
  return array(v, path).map((item, i) => {
    const p = idx(path, i);
    const o = object(item, p);
    const type = req(o, 'type', p, namespaceType, NAMESPACE_HINT);
    const first = seen.get(type);
    if (first !== undefined) fail(at(p, 'type'), `duplicate namespace "${type}" (already listed at ${idx(path, first)})`);
    seen.set(type, i);
    const out: LinuxNamespace = { type };
    put(out, 'path', opt(o, 'path', p, (x, q) => absolutePath(x, q, 'namespace path')));
    return out;
  });
}

const S_IFMT = 0o170000;
const DEVICE_FILE_TYPE: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

function device(v: unknown, path: string): LinuxDevice {
  const o = object(v, path);
  const type = req(o, 'type', path, enumOf(DEVICE_TYPES, 'device type'), ' ("c", "b", "u" or "p")');
  const out: LinuxDevice = {
    path: containerPath(
      get(o, 'path') ?? fail(at(path, 'path'), 'is required (where the device appears, e.g. "/dev/fuse")'),
      at(path, 'path'),
      'device path',
    ),
    type,
  };
  put(out, 'major', opt(o, 'major', path, int64));
  put(out, 'minor', opt(o, 'minor', path, int64));
  if (type !== 'p') {
    for (const k of ['major', 'minor'] as const) {
      if (out[k] === undefined) fail(at(path, k), `is required for device type "${type}"`);
      if (out[k] < 0 || out[k] > 0xffffffff) fail(at(path, k), `must be from 0 to 4294967295, got ${out[k]}`);
    }
  }
  put(
    out,
    'fileMode',
    opt(o, 'fileMode', path, (x, p) => {
      const mode = uint32(x, p);
      const kind = mode & ~0o7777;
      // Permission bits, optionally with the file-type bits of the device type (some tools add them).
      if (kind !== 0 && ((kind & ~S_IFMT) !== 0 || kind !== DEVICE_FILE_TYPE[type])) {
        fail(p, `must be permission bits (0 to 4095, e.g. 438 for 0o666; the S_IF* bits of the device type are tolerated), got ${mode}`);
      }
      return mode;
    }),
  );
  put(out, 'uid', opt(o, 'uid', path, uint32));
  put(out, 'gid', opt(o, 'gid', path, uint32));
  return out;
}

function resources(v: unknown, path: string): LinuxResources {
  const o = object(v, path);
  const out: LinuxResources = {};
  put(out, 'devices', opt(o, 'devices', path, arrayOf(deviceCgroup)));
  put(out, 'memory', opt(o, 'memory', path, memory));
  put(out, 'cpu', opt(o, 'cpu', path, cpu));
  put(out, 'pids', opt(o, 'pids', path, pids));
  put(out, 'blockIO', opt(o, 'blockIO', path, blockIO));
  put(out, 'hugepageLimits', opt(o, 'hugepageLimits', path, arrayOf(hugepageLimit)));
  put(out, 'network', opt(o, 'network', path, network));
  put(out, 'rdma', opt(o, 'rdma', path, record(rdma)));
  put(
    out,
    'unified',
    opt(
      o,
      'unified',
      path,
      record((x, p, key) => {
        if (key === '' || key === '.' || key === '..' || key.includes('/') || key.includes('\0')) {
          fail(p, `invalid cgroup file name ${quote(key)}: must be a plain file name such as "memory.high"`);
        }
        return cstring(x, p);
      }),
    ),
  );
  return out;
}

function deviceCgroup(v: unknown, path: string): LinuxDeviceCgroup {
  const o = object(v, path);
  const out: LinuxDeviceCgroup = { allow: req(o, 'allow', path, boolean) };
  put(out, 'type', opt(o, 'type', path, enumOf(DEVICE_CGROUP_TYPES, 'device cgroup type')));
  put(out, 'major', opt(o, 'major', path, int64));
  put(out, 'minor', opt(o, 'minor', path, int64));
  put(
    out,
    'access',
    opt(o, 'access', path, (x, p) => {
      const s = string(x, p);
      if (!/^[rwm]{1,3}$/.test(s) || new Set(s).size !== s.length) {
        fail(p, `must be a non-empty combination of "r", "w" and "m" (e.g. "rwm"), got ${quote(s)}`);
      }
      return s;
    }),
  );
  return out;
}

function memory(v: unknown, path: string): LinuxMemory {
  const o = object(v, path);
  const out: LinuxMemory = {};
  put(out, 'limit', opt(o, 'limit', path, limit));
  put(out, 'reservation', opt(o, 'reservation', path, limit));
  put(out, 'swap', opt(o, 'swap', path, limit));
  put(out, 'kernel', opt(o, 'kernel', path, limit));
  put(out, 'kernelTCP', opt(o, 'kernelTCP', path, limit));
  put(out, 'swappiness', opt(o, 'swappiness', path, intIn(0, 100)));
  put(out, 'disableOOMKiller', opt(o, 'disableOOMKiller', path, boolean));
  put(out, 'useHierarchy', opt(o, 'useHierarchy', path, boolean));
  put(out, 'checkBeforeUpdate', opt(o, 'checkBeforeUpdate', path, boolean));
  if (out.limit !== undefined && out.swap !== undefined && out.limit > 0 && out.swap > 0 && out.swap < out.limit) {
    fail(at(path, 'swap'), `memory+swap limit ${out.swap} is below the memory limit ${out.limit} (swap counts memory plus swap)`);
  }
  return out;
}

function cpu(v: unknown, path: string): LinuxCPU {
  const o = object(v, path);
  const out: LinuxCPU = {};
  put(out, 'shares', opt(o, 'shares', path, uint64));
  put(out, 'quota', opt(o, 'quota', path, limit));
  put(out, 'burst', opt(o, 'burst', path, uint64));
  put(out, 'period', opt(o, 'period', path, uint64));
  put(out, 'realtimeRuntime', opt(o, 'realtimeRuntime', path, limit));
  put(out, 'realtimePeriod', opt(o, 'realtimePeriod', path, uint64));
  put(out, 'cpus', opt(o, 'cpus', path, cpuList));
  put(out, 'mems', opt(o, 'mems', path, cpuList));
  put(out, 'idle', opt(o, 'idle', path, intIn(0, 1, ' (1 makes the cgroup SCHED_IDLE)')));
  if (out.burst !== undefined && out.quota !== undefined && out.quota > 0 && out.burst > out.quota) {
    fail(at(path, 'burst'), `burst ${out.burst} is larger than quota ${out.quota}`);
  }
  return out;
}

function pids(v: unknown, path: string): LinuxPids {
  const o = object(v, path);
  return { limit: req(o, 'limit', path, int64, ' (maximum number of tasks; 0 or -1 for no limit)') };
}

function weightDevice(v: unknown, path: string): LinuxWeightDevice {
  const o = object(v, path);
  const out: LinuxWeightDevice = { major: req(o, 'major', path, int64), minor: req(o, 'minor', path, int64) };
  put(out, 'weight', opt(o, 'weight', path, uint16));
  put(out, 'leafWeight', opt(o, 'leafWeight', path, uint16));
  if (out.weight === undefined && out.leafWeight === undefined) fail(path, 'must set weight or leafWeight (or both)');
  return out;
}

function throttleDevice(v: unknown, path: string): LinuxThrottleDevice {
  const o = object(v, path);
  return { major: req(o, 'major', path, int64), minor: req(o, 'minor', path, int64), rate: req(o, 'rate', path, uint64) };
}

function blockIO(v: unknown, path: string): LinuxBlockIO {
  const o = object(v, path);
  const out: LinuxBlockIO = {};
  put(out, 'weight', opt(o, 'weight', path, uint16));
  put(out, 'leafWeight', opt(o, 'leafWeight', path, uint16));
  put(out, 'weightDevice', opt(o, 'weightDevice', path, arrayOf(weightDevice)));
  for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
    put(out, k, opt(o, k, path, arrayOf(throttleDevice)));
  }
  return out;
}

function hugepageLimit(v: unknown, path: string): LinuxHugepageLimit {
  const o = object(v, path);
  const pageSize = req(o, 'pageSize', path, string);
  if (!/^[1-9][0-9]*[KMG]B$/.test(pageSize)) {
    fail(at(path, 'pageSize'), `must look like "2MB" or "1GB" (<size><K|M|G>B), got ${quote(pageSize)}`);
  }
  return { pageSize, limit: req(o, 'limit', path, uint64) };
}

function network(v: unknown, path: string): LinuxNetwork {
  const o = object(v, path);
  const out: LinuxNetwork = {};
  put(out, 'classID', opt(o, 'classID', path, uint32));
  put(
    out,
    'priorities',
    opt(
      o,
      'priorities',
      path,
      arrayOf((x, p): LinuxInterfacePriority => {
        const e = object(x, p);
        return { name: req(e, 'name', p, nonEmpty), priority: req(e, 'priority', p, uint32) };
      }),
    ),
  );
  return out;
}

function rdma(v: unknown, path: string): LinuxRdma {
  const o = object(v, path);
  const out: LinuxRdma = {};
  put(out, 'hcaHandles', opt(o, 'hcaHandles', path, uint32));
  put(out, 'hcaObjects', opt(o, 'hcaObjects', path, uint32));
  if (out.hcaHandles === undefined && out.hcaObjects === undefined) fail(path, 'must set hcaHandles or hcaObjects (or both)');
  return out;
}

function seccomp(v: unknown, path: string): LinuxSeccomp {
  const o = object(v, path);
  const action = enumOf(SECCOMP_ACTIONS, 'seccomp action');
  const out: LinuxSeccomp = { defaultAction: req(o, 'defaultAction', path, action, ' (e.g. "SCMP_ACT_ERRNO")') };
  put(out, 'defaultErrnoRet', opt(o, 'defaultErrnoRet', path, uint32));
  put(out, 'architectures', opt(o, 'architectures', path, arrayOf(enumOf(SECCOMP_ARCHS, 'seccomp architecture'))));
  put(out, 'flags', opt(o, 'flags', path, arrayOf(enumOf(SECCOMP_FLAGS, 'seccomp flag'))));
  put(out, 'listenerPath', opt(o, 'listenerPath', path, (x, p) => absolutePath(x, p, 'seccomp listener socket path')));
  put(out, 'listenerMetadata', opt(o, 'listenerMetadata', path, cstring));
  put(out, 'syscalls', opt(o, 'syscalls', path, arrayOf(syscall)));
  if (out.defaultErrnoRet !== undefined && !SECCOMP_ERRNO_ACTIONS.includes(out.defaultAction)) {
    fail(at(path, 'defaultErrnoRet'), `is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${out.defaultAction}`);
  }
  if (out.listenerMetadata !== undefined && out.listenerPath === undefined) {
    fail(at(path, 'listenerMetadata'), 'must not be set without listenerPath');
  }
  if (out.defaultAction === 'SCMP_ACT_NOTIFY') {
    fail(at(path, 'defaultAction'), 'SCMP_ACT_NOTIFY cannot be the default action (the runtime itself would block); use it for selected syscalls');
  }
  const notify = out.syscalls?.findIndex((s) => s.action === 'SCMP_ACT_NOTIFY') ?? -1;
  if (notify >= 0 && out.listenerPath === undefined) {
    fail(idx(at(path, 'syscalls'), notify), 'uses SCMP_ACT_NOTIFY, which needs linux.seccomp.listenerPath (the seccomp agent socket)');
  }
  return out;
}

function syscall(v: unknown, path: string): LinuxSyscall {
  const o = object(v, path);
  const names = req(o, 'names', path, arrayOf(nonEmpty));
  if (names.length === 0) fail(at(path, 'names'), 'must name at least one syscall');
  const out: LinuxSyscall = { names, action: req(o, 'action', path, enumOf(SECCOMP_ACTIONS, 'seccomp action')) };
  put(out, 'errnoRet', opt(o, 'errnoRet', path, uint32));
  put(out, 'args', opt(o, 'args', path, arrayOf(seccompArg)));
  if (out.errnoRet !== undefined && !SECCOMP_ERRNO_ACTIONS.includes(out.action)) {
    fail(at(path, 'errnoRet'), `is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${out.action}`);
  }
  return out;
}

function seccompValue(v: unknown, path: string): number {
  const n = uint64(v, path);
  if (n > Number.MAX_SAFE_INTEGER && n !== 2 ** 64) {
    fail(path, `${n} cannot be read exactly (JSON numbers above 2^53-1 lose precision); use a value up to 9007199254740991 or 18446744073709551615`);
  }
  return n;
}

function seccompArg(v: unknown, path: string): LinuxSeccompArg {
  const o = object(v, path);
  const out: LinuxSeccompArg = {
    index: req(o, 'index', path, intIn(0, 5, ' (syscalls have six arguments)')),
    value: req(o, 'value', path, seccompValue),
    op: req(o, 'op', path, enumOf(SECCOMP_OPERATORS, 'seccomp operator')),
  };
  put(out, 'valueTwo', opt(o, 'valueTwo', path, seccompValue));
  return out;
}

function intelRdt(v: unknown, path: string): LinuxIntelRdt {
  const o = object(v, path);
  const out: LinuxIntelRdt = {};
  put(
    out,
    'closID',
    opt(o, 'closID', path, (x, p) => {
      const s = cstring(x, p);
      if (s === '.' || s === '..' || s.includes('/')) fail(p, `must be a plain directory name, got ${quote(s)}`);
      return s;
    }),
  );
  put(out, 'l3CacheSchema', opt(o, 'l3CacheSchema', path, cstring));
  put(
    out,
    'memBwSchema',
    opt(o, 'memBwSchema', path, (x, p) => {
      const s = cstring(x, p);
      if (!/^MB:[^\n]*$/.test(s)) fail(p, `must start with "MB:" and be a single line, got ${quote(s)}`);
      return s;
    }),
  );
  put(out, 'enableCMT', opt(o, 'enableCMT', path, boolean));
  put(out, 'enableMBM', opt(o, 'enableMBM', path, boolean));
  return out;
}

function personality(v: unknown, path: string): LinuxPersonality {
  const o = object(v, path);
  const out: LinuxPersonality = { domain: req(o, 'domain', path, enumOf(PERSONALITY_DOMAINS, 'personality domain')) };
  put(out, 'flags', opt(o, 'flags', path, stringArray));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules spanning several fields (mostly runc's configs/validate, minus the host-dependent checks)

function crossChecks(s: Spec): void {
  const lx = s.linux;
  const ns = new Map<NamespaceType, LinuxNamespace>();
  for (const n of lx?.namespaces ?? []) ns.set(n.type, n);
  const addNs = (type: string): string => `add {"type": "${type}"} to linux.namespaces`;

  if (s.hostname && !ns.has('uts')) {
    fail('hostname', `cannot set the hostname without a UTS namespace; ${addNs('uts')} or remove hostname`);
  }
  if (s.domainname && !ns.has('uts')) {
    fail('domainname', `cannot set the domainname without a UTS namespace; ${addNs('uts')} or remove domainname`);
  }

  // User namespace and id mappings.
  const userns = ns.get('user');
  const uidMaps = lx?.uidMappings;
  const gidMaps = lx?.gidMappings;
  if (!userns) {
    if (uidMaps) fail('linux.uidMappings', `id mappings need a user namespace; ${addNs('user')} or remove the mappings`);
    if (gidMaps) fail('linux.gidMappings', `id mappings need a user namespace; ${addNs('user')} or remove the mappings`);
  } else if (userns.path === undefined) {
    const which = `linux.namespaces[${lx?.namespaces?.indexOf(userns) ?? 0}]`;
    for (const [key, maps] of [
      ['uidMappings', uidMaps],
      ['gidMappings', gidMaps],
    ] as const) {
      if (!maps || maps.length === 0) {
        fail(`linux.${key}`, `a new user namespace (${which}) needs ${key}, e.g. [{"containerID": 0, "hostID": 100000, "size": 65536}], or a namespace path to join`);
      }
      if (!isMapped(maps, 0)) fail(`linux.${key}`, `container ${key === 'uidMappings' ? 'uid' : 'gid'} 0 (root) must be mapped`);
    }
    const p = s.process;
    if (p && uidMaps && gidMaps) {
      if (!isMapped(uidMaps, p.user.uid)) fail('process.user.uid', `uid ${p.user.uid} is not mapped by linux.uidMappings`);
      if (!isMapped(gidMaps, p.user.gid)) fail('process.user.gid', `gid ${p.user.gid} is not mapped by linux.gidMappings`);
      p.user.additionalGids?.forEach((g, i) => {
        if (!isMapped(gidMaps, g)) fail(`process.user.additionalGids[${i}]`, `gid ${g} is not mapped by linux.gidMappings`);
      });
    }
  }

  // Time namespace.
  const timens = ns.get('time');
  if (lx?.timeOffsets !== undefined) {
    if (!timens) fail('linux.timeOffsets', `time offsets need a time namespace; ${addNs('time')} or remove timeOffsets`);
    if (timens.path !== undefined) {
      fail('linux.timeOffsets', 'cannot set time offsets when joining an existing time namespace (namespace path is set); give only one');
    }
  }

  // Without a mount namespace, masked and read-only paths are mounted under the rootfs in the
  // runtime's namespace (and removed on delete), like every other mount of the container.

  // id-mapped mounts without explicit mappings use the container's user namespace.
  s.mounts?.forEach((m, i) => {
    if (m.options?.some(isIdmapOption) && !m.uidMappings && !userns) {
      fail(`mounts[${i}].options`, `an idmap/ridmap mount needs uidMappings and gidMappings, or a user namespace in the container to take them from`);
    }
  });

  // sysctls must be namespaced by a namespace the container has.
  for (const key of Object.keys(lx?.sysctl ?? {})) {
    const name = sysctlName(key)!;
    const field = at('linux.sysctl', key);
    if (IPC_SYSCTLS.includes(name) || name.startsWith('fs.mqueue.')) {
      if (!ns.has('ipc')) fail(field, `sysctl ${quote(name)} is not allowed in the host's IPC namespace; ${addNs('ipc')}`);
    } else if (name.startsWith('net.')) {
      if (!ns.has('network')) fail(field, `sysctl ${quote(name)} is not allowed in the host's network namespace; ${addNs('network')}`);
    } else if (name === 'kernel.domainname' && ns.has('uts')) {
      // namespaced by UTS
    } else if (name === 'kernel.hostname' && ns.has('uts')) {
      fail(field, 'use the "hostname" field instead of the kernel.hostname sysctl');
    } else if (name.startsWith('user.')) {
      if (!userns) fail(field, `sysctl ${quote(name)} (user namespace limits) needs a user namespace; ${addNs('user')}`);
    } else {
      fail(field, `sysctl ${quote(name)} is not namespaced, so a container may not set it (allowed: IPC sysctls, fs.mqueue.*, net.*, user.*, kernel.domainname)`);
    }
  }
}
