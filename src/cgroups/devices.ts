// Device access rules (linux.resources.devices): normalization, the kernel's v1 semantics as an
// emulator (as runc's devices emulator), and the minimal transition from one state to another.
//
// Semantics (Documentation/admin-guide/cgroup-v1/devices.rst): a cgroup has a default
// (allow or deny all) and exceptions. A rule of type "a" resets: default := allow/deny, no
// exceptions. Any other rule adds an exception when it goes against the default and removes
// access from the exactly-matching exception when it agrees with it. berth starts from deny-all.
import type { LinuxDeviceCgroup } from '../spec/types.js';
import { CgroupError } from './errors.js';

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  major: number | '*';
  minor: number | '*';
  /** A non-empty subset of "rwm", in that order. */
  access: string;
}

export interface DeviceState {
  defaultAllow: boolean;
  /** "c 1:3" -> access ("rwm" subset) */
  exceptions: Map<string, string>;
}

const FIELD = 'linux.resources.devices';

function num(v: number | undefined, field: string): number | '*' {
  if (v === undefined || v === null || v === -1) return '*';
  if (!Number.isInteger(v) || v < 0 || v > 0xfffff) throw new CgroupError(`${v} is not a device number (0..1048575, or omit it for all)`, field);
  return v;
}

function normAccess(a: string | undefined, field: string): string {
  if (a === undefined || a === '') return 'rwm';
  if (!/^[rwm]+$/.test(a)) throw new CgroupError(`"${a}" is not a combination of r, w and m`, field);
  return ['r', 'w', 'm'].filter((c) => a.includes(c)).join('');
}

export function normalizeDeviceRule(r: LinuxDeviceCgroup, i: number): DeviceRule {
  const f = `${FIELD}[${i}]`;
  if (typeof r.allow !== 'boolean') throw new CgroupError('"allow" must be true or false', `${f}.allow`);
  const type = r.type === undefined || r.type === '' ? 'a' : r.type;
  if (type !== 'a' && type !== 'c' && type !== 'b') throw new CgroupError(`"${r.type}" is not a device type (a, c or b)`, `${f}.type`);
  const major = num(r.major, `${f}.major`);
  const minor = num(r.minor, `${f}.minor`);
  const access = normAccess(r.access, `${f}.access`);
  if (type === 'a' && (major !== '*' || minor !== '*' || access !== 'rwm')) {
    // The kernel reads only the "a" of such a rule and applies it to every device and access.
    throw new CgroupError('a rule of type "a" applies to all devices with all access; omit major, minor and access or use type "c"/"b"', f);
  }
  return { allow: r.allow, type, major, minor, access };
}

export function normalizeDeviceRules(rules: LinuxDeviceCgroup[]): DeviceRule[] {
  if (!Array.isArray(rules)) throw new CgroupError('must be a list of rules', FIELD);
  return rules.map(normalizeDeviceRule);
}

/** The text written to devices.allow/devices.deny: "a" or "c 1:3 rwm". */
export function ruleText(r: DeviceRule): string {
  return r.type === 'a' ? 'a *:* rwm' : `${r.type} ${r.major}:${r.minor} ${r.access}`;
}

function minus(a: string, b: string): string {
  return [...a].filter((c) => !b.includes(c)).join('');
}

function union(a: string, b: string): string {
  return ['r', 'w', 'm'].filter((c) => a.includes(c) || b.includes(c)).join('');
}

/** Apply rules to a state (default: deny all) as the kernel would. */
export function emulate(rules: DeviceRule[], start?: DeviceState): DeviceState {
  const st: DeviceState = start
    ? { defaultAllow: start.defaultAllow, exceptions: new Map(start.exceptions) }
    : { defaultAllow: false, exceptions: new Map() };
  for (const r of rules) {
    if (r.type === 'a') {
      st.defaultAllow = r.allow;
      st.exceptions.clear();
      continue;
    }
    const key = `${r.type} ${r.major}:${r.minor}`;
    const cur = st.exceptions.get(key) ?? '';
    if (r.allow !== st.defaultAllow) st.exceptions.set(key, union(cur, r.access));
    else if (cur !== '') {
      const left = minus(cur, r.access);
      if (left === '') st.exceptions.delete(key);
      else st.exceptions.set(key, left);
    }
  }
  return st;
}

/**
 * Whether a cgroup in `state` lets a task use device `type` major:minor with every access of
 * `access` ("rwm" subset), as the kernel's devcgroup_legacy_check_permission decides: default
 * deny needs one exception that matches the device and holds all of `access`; default allow
 * denies when one matching exception holds any of it. Exceptions may have "*" numbers.
 */
export function deviceAllowed(state: DeviceState, type: 'c' | 'b', major: number, minor: number, access: string): boolean {
  for (const [key, acc] of state.exceptions) {
    const [t, mm] = key.split(' ') as [string, string];
    const [ma, mi] = mm.split(':') as [string, string];
    if (t !== type || (ma !== '*' && Number(ma) !== major) || (mi !== '*' && Number(mi) !== minor)) continue;
    if (state.defaultAllow ? [...access].some((c) => acc.includes(c)) : [...access].every((c) => acc.includes(c))) return !state.defaultAllow;
  }
  return state.defaultAllow;
}

/**
 * devices.list as a state. The kernel lists "a *:* rwm" for a default-allow cgroup and hides its
 * deny exceptions, so such a state is returned with `known: false`.
 */
export function parseDevicesList(text: string): { state: DeviceState; known: boolean } {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.includes('a *:* rwm')) return { state: { defaultAllow: true, exceptions: new Map() }, known: false };
  const exceptions = new Map<string, string>();
  for (const l of lines) {
    const [t, mm, acc] = l.split(' ');
    if (t && mm && acc) exceptions.set(`${t} ${mm}`, union(exceptions.get(`${t} ${mm}`) ?? '', acc));
  }
  return { state: { defaultAllow: false, exceptions }, known: true };
}

export interface DeviceWrite {
  file: 'devices.allow' | 'devices.deny';
  text: string;
}

/**
 * The writes that take a cgroup from `current` to `target`. Deny-all to deny-all changes only the
 * differing exceptions (no moment where a running container loses /dev/null); anything else
 * starts with a reset ("a" to devices.deny or devices.allow), then adds the exceptions.
 */
export function transition(current: { state: DeviceState; known: boolean }, target: DeviceState): DeviceWrite[] {
  const out: DeviceWrite[] = [];
  const allowFile = (allow: boolean): DeviceWrite['file'] => (allow ? 'devices.allow' : 'devices.deny');
  if (current.known && !current.state.defaultAllow && !target.defaultAllow) {
    for (const [key, acc] of current.state.exceptions) {
      const drop = minus(acc, target.exceptions.get(key) ?? '');
      if (drop) out.push({ file: 'devices.deny', text: `${key} ${drop}` });
    }
    for (const [key, acc] of target.exceptions) {
      const add = minus(acc, current.state.exceptions.get(key) ?? '');
      if (add) out.push({ file: 'devices.allow', text: `${key} ${add}` });
    }
    return out;
  }
  // A default-allow cgroup may hide deny exceptions, so it is always reset.
  out.push({ file: allowFile(target.defaultAllow), text: 'a' });
  for (const [key, acc] of target.exceptions) out.push({ file: allowFile(!target.defaultAllow), text: `${key} ${acc}` });
  return out;
}

export function sameState(a: DeviceState, b: DeviceState): boolean {
  if (a.defaultAllow !== b.defaultAllow || a.exceptions.size !== b.exceptions.size) return false;
  for (const [k, v] of a.exceptions) if (b.exceptions.get(k) !== v) return false;
  return true;
}

/**
 * runc's default device rules (libcontainer/specconv AllowedDevices), which runc appends after
 * the spec's own rules. The runtime decides whether to append them (withDefaultDeviceRules).
 */
export const DEFAULT_DEVICE_RULES: readonly LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' }, // mknod of any char device
  { allow: true, type: 'b', access: 'm' }, // mknod of any block device
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  // no /dev/net/tun: devices are deny-by-default (runc 1.2 dropped it too); add it with --device
];

/**
 * The device rules runc would apply: the spec's rules, then an allow rule for every device of
 * linux.devices, then DEFAULT_DEVICE_RULES.
 */
export function withDefaultDeviceRules(
  specRules: LinuxDeviceCgroup[] | undefined,
  linuxDevices: { type: string; major?: number; minor?: number }[] = [],
): LinuxDeviceCgroup[] {
  const out: LinuxDeviceCgroup[] = [...(specRules ?? [])];
  for (const d of linuxDevices) {
    if (d.type === 'c' || d.type === 'b' || d.type === 'u') {
      out.push({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' });
    }
  }
  out.push(...DEFAULT_DEVICE_RULES);
  return out;
}
