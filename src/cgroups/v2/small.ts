// The small cgroup v2 controllers: pids, hugetlb; and linux.resources.unified.
import type { LinuxHugepageLimit, LinuxPids } from '../../spec/types.js';
import { isUnlimited } from '../convert.js';
import { CgroupError } from '../errors.js';
import { has, put, type ApplyCtx } from '../write.js';

const R = 'linux.resources';

export function applyPidsV2(ctx: ApplyCtx, p: LinuxPids): void {
  put(ctx, 'pids.max', p.limit > 0 ? p.limit : 'max', `${R}.pids.limit`);
}

export function applyHugetlbV2(ctx: ApplyCtx, limits: LinuxHugepageLimit[]): void {
  limits.forEach((h, i) => put(ctx, `hugetlb.${h.pageSize}.max`, isUnlimited(h.limit) ? 'max' : h.limit, `${R}.hugepageLimits[${i}]`));
}

/** linux.resources.unified: written last, so they override the fields above (as runc). */
export function applyUnified(ctx: ApplyCtx, unified: Record<string, string>): void {
  for (const [key, value] of Object.entries(unified)) {
    const f = `${R}.unified["${key}"]`;
    if (!has(ctx, key)) {
      const ctl = key.slice(0, key.indexOf('.'));
      throw new CgroupError(`${ctx.fs.real(ctx.dir)}/${key} does not exist (unknown file, or the ${ctl} controller is not enabled for this cgroup)`, f);
    }
    put(ctx, key, value, f);
  }
}
