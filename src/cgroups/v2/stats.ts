// cgroup v2 statistics: memory, cpu.stat, pids, io.stat, pressure.
import type { HostFs } from '../hostfs.js';
import type { CgroupStats } from '../manager.js';
import { parseFlatKeyed, parseLimit, parseNestedKeyed } from '../parse.js';
import { pressure } from './core.js';

export function statsV2(fs: HostFs, dir: string): CgroupStats {
  const out: CgroupStats = {};
  const read = (file: string): string | undefined => fs.tryRead(`${dir}/${file}`);
  const usage = parseLimit(read('memory.current'));
  if (usage !== undefined) {
    const ev = parseFlatKeyed(read('memory.events'));
    out.memory = {
      usage,
      limit: parseLimit(read('memory.max')) ?? -1,
      maxUsage: parseLimit(read('memory.peak')),
      failcnt: ev.get('max'),
      oomKills: ev.get('oom_kill') ?? 0,
    };
  }
  const cpu = parseFlatKeyed(read('cpu.stat'));
  const usec = cpu.get('usage_usec');
  if (usec !== undefined) {
    out.cpu = {
      usageNs: usec * 1000,
      userNs: (cpu.get('user_usec') ?? 0) * 1000,
      systemNs: (cpu.get('system_usec') ?? 0) * 1000,
      throttledPeriods: cpu.get('nr_throttled') ?? 0,
      throttledNs: (cpu.get('throttled_usec') ?? 0) * 1000,
    };
  }
  const current = parseLimit(read('pids.current'));
  if (current !== undefined) {
    const limit = parseLimit(read('pids.max'));
    out.pids = limit === undefined || limit === -1 ? { current } : { current, limit };
  }
  const io = read('io.stat');
  if (io !== undefined) {
    let readBytes = 0;
    let writeBytes = 0;
    for (const kv of parseNestedKeyed(io).values()) {
      readBytes += Number(kv.get('rbytes') ?? 0);
      writeBytes += Number(kv.get('wbytes') ?? 0);
    }
    out.blkio = { readBytes, writeBytes };
  }
  const p = pressure(fs, dir);
  if (p) out.pressure = p;
  return out;
}
