// The small cgroup v1 controllers: pids, hugetlb, net_cls, net_prio (rdma: ../rdma.ts).
import type { LinuxHugepageLimit, LinuxNetwork, LinuxPids } from '../../spec/types.js';
import { isUnlimited } from '../convert.js';
import { put, type ApplyCtx } from '../write.js';

const R = 'linux.resources';

export function applyPids(ctx: ApplyCtx, p: LinuxPids): void {
  put(ctx, 'pids.max', p.limit > 0 ? p.limit : 'max', `${R}.pids.limit`);
}

/** v1 hugetlb (hugetlb.<size>.limit_in_bytes). */
export function applyHugetlbV1(ctx: ApplyCtx, limits: LinuxHugepageLimit[]): void {
  limits.forEach((h, i) => put(ctx, `hugetlb.${h.pageSize}.limit_in_bytes`, isUnlimited(h.limit) ? -1 : h.limit, `${R}.hugepageLimits[${i}]`));
}

export function applyNetCls(ctx: ApplyCtx, n: LinuxNetwork): void {
  if (n.classID !== undefined) put(ctx, 'net_cls.classid', n.classID, `${R}.network.classID`);
}

export function applyNetPrio(ctx: ApplyCtx, n: LinuxNetwork): void {
  n.priorities?.forEach((p, i) => put(ctx, 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${R}.network.priorities[${i}]`));
}
