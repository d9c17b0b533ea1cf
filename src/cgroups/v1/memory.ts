// cgroup v1 memory controller: limit, memsw, soft limit, kmem, swappiness, OOM killer.
import type { LinuxMemory } from '../../spec/types.js';
import { isUnlimited } from '../convert.js';
import { CgroupError, errnoOf } from '../errors.js';
import { parseFlatKeyed, parseLimit } from '../parse.js';
import { get, has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.memory';
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

const v1Value = (n: number): string => (isUnlimited(n) ? '-1' : String(n));

/** Write a deprecated kernel-memory limit; warn when the kernel ignores it (Linux >= 5.16). */
function kmem(ctx: ApplyCtx, file: string, value: number, field: string): void {
  if (!has(ctx, file)) {
    ctx.warn(`${field}: this kernel has no ${file}; kernel memory is limited only through memory.limit`);
    return;
  }
  put(ctx, file, v1Value(value), field);
  if (isUnlimited(value)) return;
  const got = parseLimit(get(ctx, file));
  const page = 4096;
  if (got === undefined || got === -1 || Math.abs(got - value) >= page) {
    ctx.warn(`${field}: the kernel accepted ${value} for ${file} but does not enforce it (kernel memory limits are gone since Linux 5.16); kernel memory counts against memory.limit`);
  }
}

export function applyMemory(ctx: ApplyCtx, m: LinuxMemory): void {
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (ctx.update && m.checkBeforeUpdate && limit > 0 && !isUnlimited(limit)) {
    const usage = parseLimit(get(ctx, 'memory.usage_in_bytes')) ?? 0;
    if (usage > limit) throw new CgroupError(`${limit} is below the current usage of ${usage} bytes (checkBeforeUpdate is set)`, `${F}.limit`);
  }
  const noSwapAccounting = (): CgroupError =>
    new CgroupError(`swap accounting is off on this host (no ${MEMSW}; boot with swapaccount=1), so memory+swap cannot be limited`, `${F}.swap`);
  // A fresh cgroup learns that memsw is missing from the write's ENOENT (create() then rolls
  // back); update() must check first so that no limit changes before the error.
  if (swap !== 0 && (!ctx.fresh || isUnlimited(swap)) && !has(ctx, MEMSW)) {
    if (!isUnlimited(swap)) throw noSwapAccounting();
    swap = 0;
  }
  // Unlimited memory with no swap given means unlimited swap too (as runc).
  if (limit === -1 && swap === 0 && has(ctx, MEMSW)) swap = -1;
  const hints = { EINVAL: 'memory.limit must not exceed memory+swap (memory.swap); on update raise swap with it', EBUSY: 'usage is above the new limit and cannot be reclaimed' };
  const setLimit = (): void => {
    if (limit !== 0) put(ctx, LIMIT, v1Value(limit), `${F}.limit`, hints);
  };
  const setSwap = (): void => {
    if (swap === 0) return;
    try {
      put(ctx, MEMSW, v1Value(swap), `${F}.swap`, { EINVAL: 'memory+swap must be >= memory.limit', EBUSY: hints.EBUSY });
    } catch (e) {
      throw errnoOf((e as Error).cause) === 'ENOENT' ? noSwapAccounting() : e;
    }
  };
  // The kernel requires limit <= memsw at every moment: raise memsw first when it grows. A
  // fresh cgroup's limit is unlimited.
  if (limit !== 0 && swap !== 0) {
    const cur = ctx.fresh ? -1 : parseLimit(get(ctx, LIMIT)) ?? -1;
    if (isUnlimited(swap) || (cur !== -1 && cur < swap)) {
      setSwap();
      setLimit();
    } else {
      setLimit();
      setSwap();
    }
  } else {
    setLimit();
    setSwap();
  }
  if (m.reservation !== undefined && m.reservation !== 0) put(ctx, 'memory.soft_limit_in_bytes', v1Value(m.reservation), `${F}.reservation`);
  if (m.kernel !== undefined && m.kernel !== 0) kmem(ctx, 'memory.kmem.limit_in_bytes', m.kernel, `${F}.kernel`);
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) kmem(ctx, 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP, `${F}.kernelTCP`);
  if (m.swappiness !== undefined) put(ctx, 'memory.swappiness', m.swappiness, `${F}.swappiness`);
  if (m.disableOOMKiller !== undefined && (m.disableOOMKiller || ctx.update)) {
    put(ctx, 'memory.oom_control', m.disableOOMKiller ? 1 : 0, `${F}.disableOOMKiller`);
  }
  if (m.useHierarchy !== undefined) {
    const want = m.useHierarchy ? '1' : '0';
    if (get(ctx, 'memory.use_hierarchy')?.trim() !== want) {
      try {
        put(ctx, 'memory.use_hierarchy', want, `${F}.useHierarchy`);
      } catch (e) {
        if (m.useHierarchy) throw e;
        ctx.warn(`${F}.useHierarchy: hierarchical memory accounting cannot be disabled on this kernel; it stays on`);
      }
    }
  }
}

/** OOM kills so far, from memory.oom_control ("oom_kill N", Linux >= 4.13). */
export function oomKills(ctx: Pick<ApplyCtx, 'fs' | 'dir'>): number {
  return parseFlatKeyed(ctx.fs.tryRead(`${ctx.dir}/memory.oom_control`)).get('oom_kill') ?? 0;
}
