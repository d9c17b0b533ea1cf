// cgroup v1 statistics: memory, cpuacct/cpu, pids, blkio.
import type { HostFs } from '../hostfs.js';
import type { CgroupStats } from '../manager.js';
import { parseFlatKeyed, parseLimit } from '../parse.js';

/** Directory of the container's cgroup per v1 subsystem (undefined when not mounted). */
export type DirOf = (subsystem: string) => string | undefined;

const USER_HZ_NS = 1e7; // cpuacct.stat counts USER_HZ (100 Hz) ticks

export function statsV1(fs: HostFs, dirOf: DirOf): CgroupStats {
  const out: CgroupStats = {};
  const read = (dir: string | undefined, file: string): string | undefined => (dir ? fs.tryRead(`${dir}/${file}`) : undefined);
  const mem = dirOf('memory');
  const usage = parseLimit(read(mem, 'memory.usage_in_bytes'));
  if (usage !== undefined) {
    out.memory = {
      usage,
      limit: parseLimit(read(mem, 'memory.limit_in_bytes')) ?? -1,
      maxUsage: parseLimit(read(mem, 'memory.max_usage_in_bytes')),
      // Times a limit was hit: memory, or memory+swap (which fails first when they are equal).
      failcnt: (parseLimit(read(mem, 'memory.failcnt')) ?? 0) + (parseLimit(read(mem, 'memory.memsw.failcnt')) ?? 0),
      oomKills: parseFlatKeyed(read(mem, 'memory.oom_control')).get('oom_kill') ?? 0,
    };
  }
  const acct = dirOf('cpuacct');
  const usageNs = parseLimit(read(acct, 'cpuacct.usage'));
  if (usageNs !== undefined) {
    let userNs = parseLimit(read(acct, 'cpuacct.usage_user'));
    let systemNs = parseLimit(read(acct, 'cpuacct.usage_sys'));
    if (userNs === undefined || systemNs === undefined) {
      const st = parseFlatKeyed(read(acct, 'cpuacct.stat'));
      userNs = (st.get('user') ?? 0) * USER_HZ_NS;
      systemNs = (st.get('system') ?? 0) * USER_HZ_NS;
    }
    const cpuStat = parseFlatKeyed(read(dirOf('cpu'), 'cpu.stat'));
    out.cpu = { usageNs, userNs, systemNs, throttledPeriods: cpuStat.get('nr_throttled') ?? 0, throttledNs: cpuStat.get('throttled_time') ?? 0 };
  }
  const pids = dirOf('pids');
  const current = parseLimit(read(pids, 'pids.current'));
  if (current !== undefined) {
    const limit = parseLimit(read(pids, 'pids.max'));
    out.pids = limit === undefined || limit === -1 ? { current } : { current, limit };
  }
  const blk = dirOf('blkio');
  const io = read(blk, 'blkio.throttle.io_service_bytes_recursive') ?? read(blk, 'blkio.throttle.io_service_bytes');
  if (io !== undefined) {
    let readBytes = 0;
    let writeBytes = 0;
    for (const line of io.split('\n')) {
      const [dev, op, n] = line.split(' ');
      if (!dev || dev === 'Total' || n === undefined) continue;
      if (op === 'Read') readBytes += Number(n);
      else if (op === 'Write') writeBytes += Number(n);
    }
    out.blkio = { readBytes, writeBytes };
  }
  return out;
}
