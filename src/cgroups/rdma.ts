// The rdma controller (rdma.max), the same file on cgroup v1 and v2.
import type { LinuxRdma } from '../spec/types.js';
import { put, type ApplyCtx } from './write.js';

/** rdma.max lines ("mlx4_0 hca_handle=2 hca_object=max"), the same file on v1 and v2. */
export function applyRdma(ctx: ApplyCtx, rdma: Record<string, LinuxRdma>): void {
  for (const [dev, l] of Object.entries(rdma)) {
    const parts = [dev];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    if (parts.length > 1) put(ctx, 'rdma.max', parts.join(' '), `linux.resources.rdma["${dev}"]`);
  }
}
