// cgroup v1 cpu and cpuset controllers: shares, CFS quota/period/burst, RT budget, idle,
// cpus/mems.
import type { LinuxCPU } from '../../spec/types.js';
import { CgroupError, errnoOf } from '../errors.js';
import { parseLimit } from '../parse.js';
import { has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.cpu';

function needFile(ctx: ApplyCtx, file: string, field: string, why: string): void {
  if (!has(ctx, file)) throw new CgroupError(`this kernel has no ${file} (${why}), so the setting cannot be enforced; remove it`, field);
}

export function applyCpu(ctx: ApplyCtx, c: LinuxCPU, createdParents: string[]): void {
  if (c.shares) put(ctx, 'cpu.shares', c.shares, `${F}.shares`);
  // A shorter period can be refused while the old quota is in force: retry it after the quota.
  let periodLater = false;
  if (c.period) {
    try {
      put(ctx, 'cpu.cfs_period_us', c.period, `${F}.period`);
    } catch (e) {
      if (!c.quota || errnoOf((e as Error).cause) !== 'EINVAL') throw e;
      periodLater = true;
    }
  }
  if (c.quota) {
    put(ctx, 'cpu.cfs_quota_us', c.quota === -1 ? -1 : c.quota, `${F}.quota`, { EINVAL: 'the quota exceeds what the parent cgroup allows, or is below 1000 microseconds' });
    if (periodLater) put(ctx, 'cpu.cfs_period_us', c.period!, `${F}.period`);
  }
  if (c.burst !== undefined && (c.burst || ctx.update)) {
    needFile(ctx, 'cpu.cfs_burst_us', `${F}.burst`, 'Linux >= 5.14 has it');
    put(ctx, 'cpu.cfs_burst_us', c.burst, `${F}.burst`);
  }
  if (c.realtimePeriod || c.realtimeRuntime) {
    needFile(ctx, 'cpu.rt_runtime_us', `${F}.realtimeRuntime`, 'the kernel is built without CONFIG_RT_GROUP_SCHED');
    const runtime = c.realtimeRuntime ?? 0;
    // A cgroup's RT budget must fit in its parent's: raise it in the parents berth created.
    if (runtime > 0) {
      for (const p of createdParents) {
        const cur = parseLimit(ctx.fs.tryRead(`${p}/cpu.rt_runtime_us`)) ?? 0;
        if (cur !== -1 && cur < runtime) {
          if (c.realtimePeriod) put({ ...ctx, dir: p }, 'cpu.rt_period_us', c.realtimePeriod, `${F}.realtimePeriod`);
          put({ ...ctx, dir: p }, 'cpu.rt_runtime_us', runtime, `${F}.realtimeRuntime`, { EINVAL: "the parent cgroup's real-time budget is too small" });
        }
      }
    }
    if (c.realtimePeriod) put(ctx, 'cpu.rt_period_us', c.realtimePeriod, `${F}.realtimePeriod`);
    if (c.realtimeRuntime) {
      put(ctx, 'cpu.rt_runtime_us', c.realtimeRuntime, `${F}.realtimeRuntime`, { EINVAL: "the budget exceeds the period or the parent cgroup's real-time budget" });
    }
  }
  if (c.idle !== undefined) {
    needFile(ctx, 'cpu.idle', `${F}.idle`, 'Linux >= 5.15 has it');
    put(ctx, 'cpu.idle', c.idle, `${F}.idle`);
  }
}

const CPUSET_HINT = { EINVAL: 'not a subset of the parent cpuset', ENOSPC: 'the set would be empty' };

/**
 * A new v1 cpuset cgroup starts with no cpus and mems (unless the parent has clone_children);
 * tasks can join only once both are set: write the spec's values (`want`, for the container's
 * own directory) or else copy the parent's.
 */
export function initCpuset(ctx: ApplyCtx, parent: string, want?: LinuxCPU): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems'] as const) {
    const field = f === 'cpuset.cpus' ? `${F}.cpus` : `${F}.mems`;
    const given = f === 'cpuset.cpus' ? want?.cpus : want?.mems;
    const v = given || (ctx.fs.tryRead(`${parent}/${f}`) ?? '').trim();
    if (v !== '') put(ctx, f, v, field, CPUSET_HINT);
  }
}

export function applyCpuset(ctx: ApplyCtx, c: LinuxCPU): void {
  if (ctx.fresh) return; // initCpuset wrote them when it made the directory
  if (c.cpus) put(ctx, 'cpuset.cpus', c.cpus, `${F}.cpus`, CPUSET_HINT);
  if (c.mems) put(ctx, 'cpuset.mems', c.mems, `${F}.mems`, CPUSET_HINT);
}
