// The systemd driver's names and properties, as runc's:
//   linux.cgroupsPath "slice:prefix:name" -> unit "<prefix>-<name>.scope" in "<slice>"
//   ("" slice = system.slice; "" path = ":berth:<id>"); a name ending in ".slice" is a slice unit.
//   slice "a-b-c.slice" is the cgroup /a.slice/a-b.slice/a-b-c.slice ("-.slice" is the root).
// and the transient unit properties for the limits systemd itself knows, so that systemd
// writes the same values when it re-applies its own settings (daemon-reload); the cgroupfs
// backend writes everything (these and the rest) inside the delegated cgroup.
import type { LinuxResources } from '../../spec/types.js';
import { isUnlimited, parseIdList, sharesToWeight } from '../convert.js';
import { CgroupError } from '../errors.js';
import { variant, type Variant } from './dbus-wire.js';

const FIELD = 'linux.cgroupsPath';

export interface SystemdUnit {
  /** The unit systemd creates, e.g. "berth-abc.scope". */
  unit: string;
  /** Its slice, e.g. "system.slice". */
  slice: string;
  /** The cgroup path of the unit, e.g. "/system.slice/berth-abc.scope". */
  path: string;
}

const UNIT_CHARS = /^[A-Za-z0-9:_.\\@-]+$/;

function checkName(what: string, s: string, whole: string): void {
  if (s !== '' && !UNIT_CHARS.test(s)) {
    throw new CgroupError(`${JSON.stringify(whole)}: the ${what} ${JSON.stringify(s)} may contain only letters, digits and ":_.\\@-" (systemd unit names)`, FIELD);
  }
}

/** "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; throws on a name systemd would refuse. */
export function expandSlice(slice: string): string {
  const bad = (): never => {
    throw new CgroupError(`${JSON.stringify(slice)} is not a valid systemd slice name (e.g. "system.slice", "machine-berth.slice")`, FIELD);
  };
  if (!slice.endsWith('.slice') || slice.includes('/')) bad();
  if (slice === '-.slice') return '/';
  const base = slice.slice(0, -'.slice'.length);
  if (base === '' || base.startsWith('-') || base.endsWith('-') || base.includes('--')) bad();
  let path = '';
  let prefix = '';
  for (const part of base.split('-')) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

export function parseSystemdPath(cgroupsPath: string | undefined, containerId: string): SystemdUnit {
  const p = cgroupsPath === undefined || cgroupsPath === '' ? `:berth:${containerId}` : cgroupsPath;
  const parts = p.split(':');
  if (parts.length !== 3) {
    throw new CgroupError(`${JSON.stringify(p)}: with the systemd cgroup driver the path must be "slice:prefix:name" (e.g. "system.slice:berth:${containerId}")`, FIELD);
  }
  const [sliceIn, prefix, name] = parts as [string, string, string];
  checkName('slice', sliceIn, p);
  checkName('prefix', prefix, p);
  checkName('name', name, p);
  if (name === '') throw new CgroupError(`${JSON.stringify(p)}: the name part (after the second ":") is empty`, FIELD);
  const slice = sliceIn === '' ? 'system.slice' : sliceIn;
  const parent = expandSlice(slice);
  const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
  if (unit.endsWith('.slice')) {
    // A slice inside a slice must carry the parent's name as its prefix, as systemd requires.
    const own = expandSlice(unit);
    if (slice !== '-.slice' && !own.startsWith(`${parent}/`)) {
      throw new CgroupError(`${JSON.stringify(p)}: slice ${unit} is not inside ${slice} (name it "${slice.slice(0, -6)}-<name>.slice")`, FIELD);
    }
    return { unit, slice, path: own };
  }
  return { unit, slice, path: `${parent === '/' ? '' : parent}/${unit}` };
}

/** A cpuset list as systemd's AllowedCPUs/AllowedMemoryNodes bitmask (byte i bit j = id 8i+j). */
export function cpusetMask(list: string): Buffer {
  const ids = parseIdList(list);
  const out = Buffer.alloc(ids.length ? Math.floor(Math.max(...ids) / 8) + 1 : 0);
  for (const id of ids) out[id >> 3]! |= 1 << (id & 7);
  return out;
}

/**
 * systemd's quota is per second, in 10 ms steps: round up as runc does, so the container never
 * gets less than it asked for.
 */
export function quotaPerSecUSec(quota: number, period: number): number {
  let q = Math.floor((quota * 1_000_000) / period);
  if (q % 10_000 !== 0) q = (Math.floor(q / 10_000) + 1) * 10_000;
  return q;
}

/** Unit properties for the resources; `v2`: the host (or systemd) runs the unified hierarchy. */
export function resourceProperties(r: LinuxResources, v2: boolean): [string, Variant][] {
  const out: [string, Variant][] = [];
  const t = (name: string, v: number | bigint): void => void out.push([name, variant('t', v)]);
  const INF = 0xffffffffffffffffn;
  const m = r.memory;
  if (m?.limit) t(v2 ? 'MemoryMax' : 'MemoryLimit', isUnlimited(m.limit) ? INF : m.limit);
  if (v2 && m?.reservation) t('MemoryLow', isUnlimited(m.reservation) ? INF : m.reservation);
  if (v2 && m?.swap && m.limit && m.limit > 0 && !isUnlimited(m.limit)) t('MemorySwapMax', isUnlimited(m.swap) ? INF : Math.max(0, m.swap - m.limit));
  const c = r.cpu;
  if (c?.shares) {
    if (v2) t('CPUWeight', sharesToWeight(c.shares));
    else t('CPUShares', c.shares);
  }
  if (c?.period) t('CPUQuotaPeriodUSec', c.period);
  if (c?.quota && c.quota > 0) t('CPUQuotaPerSecUSec', quotaPerSecUSec(c.quota, c.period || 100_000));
  else if (c?.quota === -1) t('CPUQuotaPerSecUSec', INF);
  if (v2 && c?.cpus) out.push(['AllowedCPUs', variant('ay', cpusetMask(c.cpus))]);
  if (v2 && c?.mems) out.push(['AllowedMemoryNodes', variant('ay', cpusetMask(c.mems))]);
  if (r.pids?.limit) t('TasksMax', r.pids.limit > 0 ? r.pids.limit : INF);
  if (r.blockIO?.weight) {
    if (v2) t('IOWeight', 1 + Math.floor(((r.blockIO.weight - 10) * 9999) / 990));
    else t('BlockIOWeight', r.blockIO.weight);
  }
  return out;
}

/** Accounting switches for the controllers the limits use, so systemd realizes them. */
export function accountingProperties(props: [string, Variant][], v2: boolean): [string, Variant][] {
  const names = new Set(props.map(([n]) => n));
  const on = (n: string): [string, Variant] => [n, variant('b', true)];
  const out: [string, Variant][] = [];
  if ([...names].some((n) => n.startsWith('Memory'))) out.push(on('MemoryAccounting'));
  if ([...names].some((n) => n.startsWith('CPU'))) out.push(on('CPUAccounting'));
  if (names.has('TasksMax')) out.push(on('TasksAccounting'));
  if (names.has('IOWeight') || names.has('BlockIOWeight')) out.push(on(v2 ? 'IOAccounting' : 'BlockIOAccounting'));
  return out;
}
