// cgroup v2 memory controller: memory.max, memory.low, memory.swap.max.
import type { LinuxMemory } from '../../spec/types.js';
import { isUnlimited, swapToV2 } from '../convert.js';
import { CgroupError } from '../errors.js';
import { parseLimit } from '../parse.js';
import { get, has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.memory';
const v2Value = (n: number): string => (isUnlimited(n) ? 'max' : String(n));

export function applyMemoryV2(ctx: ApplyCtx, m: LinuxMemory): void {
  const limit = m.limit ?? 0;
  if (ctx.update && m.checkBeforeUpdate && limit > 0 && !isUnlimited(limit)) {
    const usage = parseLimit(get(ctx, 'memory.current')) ?? 0;
    if (usage > limit) throw new CgroupError(`${limit} is below the current usage of ${usage} bytes (checkBeforeUpdate is set)`, `${F}.limit`);
  }
  const swapIn = m.swap ?? 0;
  if (swapIn !== 0 || limit === -1) {
    // The limit in force, for an update that changes only swap.
    const effLimit = limit !== 0 ? (isUnlimited(limit) ? -1 : limit) : (parseLimit(get(ctx, 'memory.max')) ?? -1);
    let swap: number;
    try {
      swap = swapToV2(isUnlimited(swapIn) ? -1 : swapIn, effLimit === 0 ? -1 : effLimit);
    } catch (e) {
      throw new CgroupError((e as Error).message, `${F}.swap`);
    }
    if (swap !== 0) {
      if (has(ctx, 'memory.swap.max')) put(ctx, 'memory.swap.max', v2Value(swap), `${F}.swap`);
      else if (swap !== -1) throw new CgroupError('swap accounting is off on this host (no memory.swap.max), so swap cannot be limited', `${F}.swap`);
    }
  }
  if (limit !== 0) put(ctx, 'memory.max', v2Value(limit), `${F}.limit`, { EBUSY: 'usage is above the new limit and cannot be reclaimed' });
  if (m.reservation) put(ctx, 'memory.low', v2Value(m.reservation), `${F}.reservation`);
}

/** OOM kills so far, from memory.events. */
export function oomKillsV2(ctx: Pick<ApplyCtx, 'fs' | 'dir'>): number {
  const text = ctx.fs.tryRead(`${ctx.dir}/memory.events`) ?? '';
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}
