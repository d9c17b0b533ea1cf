// `berth-oci pause | resume | update | events`: resource control of a live container, with runc's
// flags and messages. main.ts registers these; the work is in src/runtime/resources.ts, loaded
// only when one of the commands runs.
import { readFileSync } from 'node:fs';
import type { LinuxResources } from '../../spec/types.js';
import { UsageError, type FlagSet, type ParsedFlags } from './args.js';

interface Log {
  error(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
}

interface Ctx {
  global: ParsedFlags;
  log: Log;
}

export interface CgroupCommand {
  summary: string;
  usage: string;
  flags: FlagSet;
  run(ctx: Ctx, flags: ParsedFlags, args: string[]): Promise<number>;
}

async function runtime(ctx: Ctx) {
  const { Runtime } = await import('../../runtime/runtime.js');
  return new Runtime({
    root: (ctx.global.root as string) ?? '/run/berth-oci',
    systemdCgroup: !!ctx.global['systemd-cgroup'],
    debug: (m) => ctx.log.debug(m),
    warn: (m) => ctx.log.warn(m),
  });
}

function exactlyOne(args: string[], cmd: string): string {
  if (args.length !== 1) throw new UsageError(`"${cmd}" requires exactly 1 argument (the container id), got ${args.length}`);
  return args[0]!;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A byte size as runc reads it (docker/go-units RAMInBytes: "64m", "1.5g", "512KiB", "1024"); "-1" is unlimited. */
export function parseSize(text: string, flag: string): number {
  if (text.trim() === '-1') return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(n)) {
    throw new UsageError(`invalid value for --${flag}: invalid size: '${text}' (use bytes or a size like 64m, 1g, 512k; -1 for unlimited)`);
  }
  const v = Math.trunc(n * UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(v)) throw new UsageError(`invalid value for --${flag}: '${text}' is too large`);
  return v;
}

function parseInt64(text: string, flag: string, unsigned: boolean): number {
  const re = unsigned ? /^\d+$/ : /^-?\d+$/;
  const n = Number(text);
  if (!re.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new UsageError(`invalid value for --${flag}: "${text}" is not ${unsigned ? 'a non-negative integer' : 'an integer'}`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A Go duration ("5s", "250ms", "1m30s", "1.5s") in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text)) !== null) {
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (text === '' || end !== text.length) throw new UsageError(`invalid value for --${flag}: time: invalid duration "${text}" (use e.g. 5s, 500ms, 1m)`);
  if (ms <= 0) throw new UsageError(`--${flag}: duration value must be greater than 0`);
  return ms;
}

const UPDATE_HELP_JSON = `path to the file containing the resources to update or '-' to read from the standard input
                                      (a linux.resources object; other options are then ignored, as runc does)`;

const UPDATE_FLAGS: FlagSet = {
  resources: { type: 'string', alias: 'r', help: UPDATE_HELP_JSON },
  'blkio-weight': { type: 'string', help: 'Specifies per cgroup weight, range is from 10 to 1000' },
  'cpu-period': { type: 'string', help: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
  'cpu-quota': { type: 'string', help: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
  'cpu-share': { type: 'string', help: 'CPU shares (relative weight vs. other containers)' },
  'cpu-shares': { type: 'string', help: 'the same as --cpu-share' },
  'cpu-rt-period': { type: 'string', help: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
  'cpu-rt-runtime': { type: 'string', help: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
  'cpu-idle': { type: 'string', help: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
  'cpuset-cpus': { type: 'string', help: 'CPU(s) to use' },
  'cpuset-mems': { type: 'string', help: 'Memory node(s) to use' },
  memory: { type: 'string', help: 'Memory limit (in bytes, or with a unit: 64m, 1g)' },
  'memory-reservation': { type: 'string', help: 'Memory reservation or soft_limit (in bytes, or with a unit)' },
  'memory-swap': { type: 'string', help: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
  'kernel-memory': { type: 'string', help: 'Kernel memory limit (obsolete: not enforced by Linux >= 5.16)' },
  'kernel-memory-tcp': { type: 'string', help: 'Kernel memory limit for tcp buffer (obsolete: not enforced by Linux >= 5.16)' },
  'pids-limit': { type: 'string', help: 'Maximum number of pids allowed in the container (-1: unlimited)' },
  'l3-cache-schema': { type: 'string', help: 'The string of Intel RDT/CAT L3 cache schema (not supported)' },
  'mem-bw-schema': { type: 'string', help: 'The string of Intel RDT/MBA memory bandwidth schema (not supported)' },
};

/** The LinuxResources an `update` command line asks for (runc: -r FILE wins over the flags). */
export async function updateRequest(f: ParsedFlags): Promise<LinuxResources> {
  const file = f.resources as string | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--resources ${file}: ${(e as Error).message}`);
    }
    const label = file === '-' ? 'resources (stdin)' : file;
    const { parseBoundedJSON, validateSpec } = await import('../../spec/validate.js');
    const obj = parseBoundedJSON(text, label);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new UsageError(`${label}: must be a JSON object (a linux.resources object)`);
    const spec = validateSpec({ ociVersion: '1.2.0', linux: { resources: obj } }, label);
    return spec.linux?.resources ?? {};
  }
  for (const k of ['l3-cache-schema', 'mem-bw-schema']) {
    if (f[k] !== undefined) throw new UsageError(`--${k}: Intel RDT is not supported by berth-oci (no resctrl on this host)`);
  }
  const s = (k: string): string | undefined => f[k] as string | undefined;
  const r: LinuxResources = {};
  const mem: NonNullable<LinuxResources['memory']> = {};
  for (const [flag, key] of [['memory', 'limit'], ['memory-reservation', 'reservation'], ['memory-swap', 'swap'], ['kernel-memory', 'kernel'], ['kernel-memory-tcp', 'kernelTCP']] as const) {
    const v = s(flag);
    if (v !== undefined && v !== '') mem[key] = parseSize(v, flag);
  }
  if (Object.keys(mem).length) r.memory = mem;
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const shares = s('cpu-share') ?? s('cpu-shares');
  if (s('cpu-share') !== undefined && s('cpu-shares') !== undefined) throw new UsageError('give --cpu-share or --cpu-shares, not both');
  if (shares !== undefined) cpu.shares = parseInt64(shares, s('cpu-share') !== undefined ? 'cpu-share' : 'cpu-shares', true);
  if (s('cpu-period') !== undefined) cpu.period = parseInt64(s('cpu-period')!, 'cpu-period', true);
  if (s('cpu-quota') !== undefined) cpu.quota = parseInt64(s('cpu-quota')!, 'cpu-quota', false);
  if (s('cpu-rt-period') !== undefined) cpu.realtimePeriod = parseInt64(s('cpu-rt-period')!, 'cpu-rt-period', true);
  if (s('cpu-rt-runtime') !== undefined) cpu.realtimeRuntime = parseInt64(s('cpu-rt-runtime')!, 'cpu-rt-runtime', false);
  if (s('cpu-idle') !== undefined) cpu.idle = parseInt64(s('cpu-idle')!, 'cpu-idle', false);
  if (s('cpuset-cpus') !== undefined) cpu.cpus = s('cpuset-cpus')!;
  if (s('cpuset-mems') !== undefined) cpu.mems = s('cpuset-mems')!;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (s('pids-limit') !== undefined) r.pids = { limit: parseInt64(s('pids-limit')!, 'pids-limit', false) };
  if (s('blkio-weight') !== undefined) r.blockIO = { weight: parseInt64(s('blkio-weight')!, 'blkio-weight', true) };
  return r;
}

export const CGROUP_COMMANDS: Record<string, CgroupCommand> = {
  pause: {
    summary: 'pause suspends all processes inside the container',
    usage: '<container-id>',
    flags: {},
    async run(ctx, _f, a) {
      const id = exactlyOne(a, 'pause');
      const { pause } = await import('../../runtime/resources.js');
      await pause(await runtime(ctx), id);
      return 0;
    },
  },
  resume: {
    summary: 'resumes all processes that have been previously paused',
    usage: '<container-id>',
    flags: {},
    async run(ctx, _f, a) {
      const id = exactlyOne(a, 'resume');
      const { resume } = await import('../../runtime/resources.js');
      await resume(await runtime(ctx), id);
      return 0;
    },
  },
  update: {
    summary: 'update container resource constraints',
    usage: '<container-id>',
    flags: UPDATE_FLAGS,
    async run(ctx, f, a) {
      const id = exactlyOne(a, 'update');
      const req = await updateRequest(f);
      const { update } = await import('../../runtime/resources.js');
      const res = await update(await runtime(ctx), id, req);
      for (const w of res.warnings) ctx.log.warn(w);
      return 0;
    },
  },
  events: {
    summary: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    usage: '<container-id>',
    flags: {
      interval: { type: 'string', help: 'set the stats collection interval', default: '5s' },
      stats: { type: 'bool', help: "display the container's stats then exit" },
    },
    async run(ctx, f, a) {
      const id = exactlyOne(a, 'events');
      const intervalMs = parseDuration((f.interval as string | undefined) ?? '5s', 'interval');
      const { stats, statsJson, watch } = await import('../../runtime/resources.js');
      const rt = await runtime(ctx);
      if (f.stats) {
        process.stdout.write(statsJson(await stats(rt, id)) + '\n');
        return 0;
      }
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await watch(rt, id, { intervalMs, signal: ac.signal, onEvent: (e) => process.stdout.write(statsJson(e) + '\n') });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      return 0;
    },
  },
};
