// cgroup v2 cpu and cpuset controllers: cpu.weight, cpu.max, cpu.max.burst, cpu.idle,
// cpuset.cpus/mems.
import type { LinuxCPU } from '../../spec/types.js';
import { sharesToWeight } from '../convert.js';
import { CgroupError } from '../errors.js';
import { get, has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.cpu';

export function applyCpuV2(ctx: ApplyCtx, c: LinuxCPU): void {
  if (c.shares) put(ctx, 'cpu.weight', sharesToWeight(c.shares), `${F}.shares`);
  if (c.quota || c.period) {
    // cpu.max is "quota period"; keep the half that is not being set.
    const [curQuota = 'max', curPeriod = '100000'] = (get(ctx, 'cpu.max') ?? '').trim().split(/\s+/);
    const quota = c.quota ? (c.quota === -1 ? 'max' : String(c.quota)) : curQuota;
    const period = c.period ? String(c.period) : curPeriod;
    put(ctx, 'cpu.max', `${quota} ${period}`, `${F}.${c.quota ? 'quota' : 'period'}`);
  }
  if (c.burst !== undefined && (c.burst || ctx.update)) {
    if (!has(ctx, 'cpu.max.burst')) throw new CgroupError('this kernel has no cpu.max.burst (Linux >= 5.14 has it); remove the setting', `${F}.burst`);
    put(ctx, 'cpu.max.burst', c.burst, `${F}.burst`);
  }
  if (c.idle !== undefined) {
    if (!has(ctx, 'cpu.idle')) throw new CgroupError('this kernel has no cpu.idle (Linux >= 5.15 has it); remove the setting', `${F}.idle`);
    put(ctx, 'cpu.idle', c.idle, `${F}.idle`);
  }
}

export function applyCpusetV2(ctx: ApplyCtx, c: LinuxCPU): void {
  const hint = { EINVAL: 'not a subset of the parent cpuset' };
  if (c.cpus) put(ctx, 'cpuset.cpus', c.cpus, `${F}.cpus`, hint);
  if (c.mems) put(ctx, 'cpuset.mems', c.mems, `${F}.mems`, hint);
}
