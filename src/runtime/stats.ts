// Container statistics in runc's `events` shape (runc's types/events.go: Stats, Cpu, Memory,
// Pids, Blkio, Hugetlb, ...), read straight from the container's cgroup files so that every
// counter runc reports is there (per-cpu usage, memory.stat as "raw", blkio entries).
//
// Counters are kept as bigint when they do not fit a double exactly (v1's "unlimited",
// 9223372036854771712; v2's "max" is reported as 2^64-1, as runc does), and statsJson() prints
// them digit for digit.
import { readFileSync, readdirSync } from 'node:fs';

export type Num = number | bigint;

export interface MemoryEntry {
  limit: Num;
  usage: Num;
  max: Num;
  failcnt: Num;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: Num;
}

export interface RuncStats {
  cpu: {
    usage: { total: Num; percpu?: Num[] | undefined; percpu_kernel?: Num[] | undefined; percpu_user?: Num[] | undefined; kernel: Num; user: Num };
    throttling: { periods: Num; throttledPeriods: Num; throttledTime: Num };
  };
  cpuset?: { cpus: number[]; mems: number[] };
  memory: {
    cache: Num;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, Num>;
  };
  pids: { current: Num; limit: Num };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
    ioQueueRecursive: BlkioEntry[];
    ioServiceTimeRecursive: BlkioEntry[];
    ioWaitTimeRecursive: BlkioEntry[];
    ioMergedRecursive: BlkioEntry[];
    ioTimeRecursive: BlkioEntry[];
    sectorsRecursive: BlkioEntry[];
  };
  hugetlb: Record<string, { usage: Num; max: Num; failcnt: Num }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

/** Reads a file of the container's cgroup; undefined when it does not exist. */
export type ReadFile = (path: string) => string | undefined;

const defaultRead: ReadFile = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

const U64_MAX = 2n ** 64n - 1n;
const NS_PER_TICK = 10_000_000n; // cpuacct.stat counts USER_HZ (100 Hz) ticks

/** An unsigned counter from text; "max" is 2^64-1 (runc's math.MaxUint64); garbage is 0. */
export function num(text: string | undefined): Num {
  const t = (text ?? '').trim();
  if (t === 'max') return U64_MAX;
  if (!/^-?\d+$/.test(t)) return 0;
  const n = Number(t);
  if (n < 0) return 0;
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

function add(a: Num, b: Num): Num {
  if (a === U64_MAX || b === U64_MAX) return U64_MAX;
  const s = BigInt(a) + BigInt(b);
  return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

function mul(a: Num, k: bigint): Num {
  const s = BigInt(a) * k;
  return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

function flat(text: string | undefined): Record<string, Num> {
  const out: Record<string, Num> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = num(v);
  }
  return out;
}

function list(text: string | undefined): Num[] {
  return (text ?? '').trim().split(/\s+/).filter(Boolean).map((v) => num(v));
}

function idList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').trim().split(',').filter(Boolean)) {
    const [lo, hi] = part.split('-').map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let i = lo; i <= (hi ?? lo) && i - lo < 65536; i++) out.push(i);
  }
  return out;
}

function emptyEntry(): MemoryEntry {
  return { limit: 0, usage: 0, max: 0, failcnt: 0 };
}

function emptyStats(): RuncStats {
  return {
    cpu: { usage: { total: 0, percpu: undefined, percpu_kernel: undefined, percpu_user: undefined, kernel: 0, user: 0 }, throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 } },
    memory: { cache: 0, usage: emptyEntry(), swap: emptyEntry(), kernel: emptyEntry(), kernelTCP: emptyEntry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueueRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** v1 blkio lines "8:0 Read 4096" (the trailing "Total N" line is skipped, as runc does). */
function blkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 2 && /^\d+:\d+$/.test(f[0]!)) {
      // blkio.sectors_recursive / blkio.time_recursive: "8:0 N" (no op)
      const [major, minor] = f[0]!.split(':').map(Number);
      out.push({ major: major!, minor: minor!, op: '', value: num(f[1]) });
      continue;
    }
    if (f.length !== 3 || !/^\d+:\d+$/.test(f[0]!)) continue;
    const [major, minor] = f[0]!.split(':').map(Number);
    out.push({ major: major!, minor: minor!, op: f[1]!, value: num(f[2]) });
  }
  return out;
}

function v1Entry(read: (f: string) => string | undefined, prefix: string): MemoryEntry {
  const usage = read(`${prefix}.usage_in_bytes`);
  if (usage === undefined) return emptyEntry();
  return {
    limit: num(read(`${prefix}.limit_in_bytes`)),
    usage: num(usage),
    max: num(read(`${prefix}.max_usage_in_bytes`)),
    failcnt: num(read(`${prefix}.failcnt`)),
  };
}

/** runc-shaped statistics of a cgroup v1 (or hybrid) container; `dirs` maps subsystem -> directory. */
export function statsV1(dirs: Record<string, string>, readFile: ReadFile = defaultRead): RuncStats {
  const s = emptyStats();
  const r = (sub: string) => (file: string): string | undefined => (dirs[sub] ? readFile(`${dirs[sub]}/${file}`) : undefined);
  const acct = r('cpuacct');
  s.cpu.usage.total = num(acct('cpuacct.usage'));
  const percpu = list(acct('cpuacct.usage_percpu'));
  if (percpu.length) s.cpu.usage.percpu = percpu;
  // cpuacct.usage_all: "cpu user system" per cpu
  const all = acct('cpuacct.usage_all');
  if (all !== undefined) {
    const k: Num[] = [];
    const u: Num[] = [];
    for (const line of all.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length === 3) {
        u.push(num(f[1]));
        k.push(num(f[2]));
      }
    }
    if (k.length) {
      s.cpu.usage.percpu_kernel = k;
      s.cpu.usage.percpu_user = u;
    }
  }
  const st = flat(acct('cpuacct.stat'));
  s.cpu.usage.user = mul(st.user ?? 0, NS_PER_TICK);
  s.cpu.usage.kernel = mul(st.system ?? 0, NS_PER_TICK);
  const cs = flat(r('cpu')('cpu.stat'));
  s.cpu.throttling = { periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: cs.throttled_time ?? 0 };
  if (dirs.cpuset) {
    const cpuset = r('cpuset');
    s.cpuset = { cpus: idList(cpuset('cpuset.effective_cpus') ?? cpuset('cpuset.cpus')), mems: idList(cpuset('cpuset.effective_mems') ?? cpuset('cpuset.mems')) };
  }
  const mem = r('memory');
  s.memory.usage = v1Entry(mem, 'memory');
  s.memory.swap = v1Entry(mem, 'memory.memsw');
  s.memory.kernel = v1Entry(mem, 'memory.kmem');
  s.memory.kernelTCP = v1Entry(mem, 'memory.kmem.tcp');
  s.memory.raw = flat(mem('memory.stat'));
  s.memory.cache = s.memory.raw.cache ?? 0;
  const pids = r('pids');
  s.pids.current = num(pids('pids.current'));
  const max = pids('pids.max')?.trim();
  s.pids.limit = max === undefined || max === 'max' ? 0 : num(max);
  const blk = r('blkio');
  // CFQ files, else BFQ files, when a device uses such a scheduler; else the throttle counters
  // (runc's order).
  const nonEmpty = (t: string | undefined): boolean => t !== undefined && blkioV1(t).length > 0;
  const sched = ['blkio.', 'blkio.bfq.'].find((p) => nonEmpty(blk(`${p}io_service_bytes_recursive`)));
  if (sched !== undefined) {
    s.blkio.ioServiceBytesRecursive = blkioV1(blk(`${sched}io_service_bytes_recursive`));
    s.blkio.ioServicedRecursive = blkioV1(blk(`${sched}io_serviced_recursive`));
    s.blkio.ioQueueRecursive = blkioV1(blk(`${sched}io_queued_recursive`));
    s.blkio.ioServiceTimeRecursive = blkioV1(blk(`${sched}io_service_time_recursive`));
    s.blkio.ioWaitTimeRecursive = blkioV1(blk(`${sched}io_wait_time_recursive`));
    s.blkio.ioMergedRecursive = blkioV1(blk(`${sched}io_merged_recursive`));
    s.blkio.ioTimeRecursive = blkioV1(blk(`${sched}time_recursive`));
    s.blkio.sectorsRecursive = blkioV1(blk(`${sched}sectors_recursive`));
  } else {
    s.blkio.ioServiceBytesRecursive = blkioV1(blk('blkio.throttle.io_service_bytes_recursive') ?? blk('blkio.throttle.io_service_bytes'));
    s.blkio.ioServicedRecursive = blkioV1(blk('blkio.throttle.io_serviced_recursive') ?? blk('blkio.throttle.io_serviced'));
  }
  if (dirs.hugetlb) {
    for (const size of hugeSizes(dirs.hugetlb, /^hugetlb\.(\w+)\.usage_in_bytes$/)) {
      const h = r('hugetlb');
      s.hugetlb[size] = { usage: num(h(`hugetlb.${size}.usage_in_bytes`)), max: num(h(`hugetlb.${size}.max_usage_in_bytes`)), failcnt: num(h(`hugetlb.${size}.failcnt`)) };
    }
  } else if (dirs.unified) {
    hugetlbV2(s, dirs.unified, readFile);
  }
  return s;
}

function hugeSizes(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir).map((f) => re.exec(f)?.[1]).filter((x): x is string => !!x).sort();
  } catch {
    return [];
  }
}

function hugetlbV2(s: RuncStats, dir: string, readFile: ReadFile): void {
  for (const size of hugeSizes(dir, /^hugetlb\.(\w+)\.current$/)) {
    const ev = flat(readFile(`${dir}/hugetlb.${size}.events`));
    s.hugetlb[size] = { usage: num(readFile(`${dir}/hugetlb.${size}.current`)), max: 0, failcnt: ev.max ?? 0 };
  }
}

/** runc-shaped statistics of a cgroup v2 container (runc's fs2 conversions). */
export function statsV2(dir: string, readFile: ReadFile = defaultRead): RuncStats {
  const s = emptyStats();
  const r = (file: string): string | undefined => readFile(`${dir}/${file}`);
  const cpu = flat(r('cpu.stat'));
  s.cpu.usage.total = mul(cpu.usage_usec ?? 0, 1000n);
  s.cpu.usage.user = mul(cpu.user_usec ?? 0, 1000n);
  s.cpu.usage.kernel = mul(cpu.system_usec ?? 0, 1000n);
  s.cpu.throttling = { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: mul(cpu.throttled_usec ?? 0, 1000n) };
  const cpus = r('cpuset.cpus.effective');
  if (cpus !== undefined) s.cpuset = { cpus: idList(cpus), mems: idList(r('cpuset.mems.effective')) };
  const raw = flat(r('memory.stat'));
  s.memory.raw = raw;
  s.memory.cache = raw.file ?? 0;
  const usage = num(r('memory.current'));
  const limit = num(r('memory.max'));
  const events = flat(r('memory.events'));
  s.memory.usage = { limit, usage, max: num(r('memory.peak')), failcnt: events.max ?? 0 };
  // runc reports swap as memory+swap, like v1's memsw
  const swapCur = r('memory.swap.current');
  if (swapCur !== undefined) {
    s.memory.swap = { limit: add(limit, num(r('memory.swap.max'))), usage: add(usage, num(swapCur)), max: 0, failcnt: flat(r('memory.swap.events')).max ?? 0 };
  }
  s.pids.current = num(r('pids.current'));
  const pmax = r('pids.max')?.trim();
  s.pids.limit = pmax === undefined || pmax === 'max' ? 0 : num(pmax);
  for (const line of (r('io.stat') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const kv: Record<string, Num> = {};
    for (const p of f.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) kv[p.slice(0, eq)] = num(p.slice(eq + 1));
    }
    s.blkio.ioServiceBytesRecursive.push({ major, minor, op: 'Read', value: kv.rbytes ?? 0 }, { major, minor, op: 'Write', value: kv.wbytes ?? 0 });
    s.blkio.ioServicedRecursive.push({ major, minor, op: 'Read', value: kv.rios ?? 0 }, { major, minor, op: 'Write', value: kv.wios ?? 0 });
  }
  hugetlbV2(s, dir, readFile);
  return s;
}

/** Statistics for a manager's layout and directories (BerthCgroupManager.dirs()). */
export function runcStats(layout: 'v1' | 'v2' | 'hybrid', dirs: Record<string, string>, readFile: ReadFile = defaultRead): RuncStats {
  if (layout === 'v2') return statsV2(dirs.unified ?? '', readFile);
  return statsV1(dirs, readFile);
}

/** JSON on one line (as Go's json.Encoder), bigints printed exactly. */
export function statsJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000big:${v.toString()}` : v));
  return text.replace(/"\\u0000big:(\d+)"/g, '$1');
}
