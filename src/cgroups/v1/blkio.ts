// cgroup v1 blkio controller: proportional weights (bfq or the old CFQ files) and throttling.
import type { LinuxBlockIO, LinuxThrottleDevice } from '../../spec/types.js';
import { CgroupError } from '../errors.js';
import { usesBfq } from '../host.js';
import { has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.blockIO';

function weightFiles(ctx: ApplyCtx, field: string): { weight: string; device: string; bfq: boolean } {
  if (has(ctx, 'blkio.bfq.weight')) return { weight: 'blkio.bfq.weight', device: 'blkio.bfq.weight_device', bfq: true };
  if (has(ctx, 'blkio.weight')) return { weight: 'blkio.weight', device: 'blkio.weight_device', bfq: false };
  throw new CgroupError('this host has no blkio weight files (neither the bfq scheduler nor CFQ is available), so I/O weights cannot be enforced; remove the setting', field);
}

function throttle(ctx: ApplyCtx, file: string, list: LinuxThrottleDevice[] | undefined, field: string): void {
  list?.forEach((t, i) => put(ctx, file, `${t.major}:${t.minor} ${t.rate}`, `${field}[${i}]`));
}

export function applyBlkio(ctx: ApplyCtx, b: LinuxBlockIO): void {
  if (b.weight) {
    const w = weightFiles(ctx, `${F}.weight`);
    put(ctx, w.weight, b.weight, `${F}.weight`);
    if (w.bfq && !usesBfq(ctx.fs)) {
      ctx.warn(`${F}.weight: written to ${w.weight}, but no block device uses the bfq I/O scheduler, so the weight has no effect (echo bfq > /sys/block/<dev>/queue/scheduler)`);
    }
  }
  if (b.leafWeight) {
    if (!has(ctx, 'blkio.leaf_weight')) {
      throw new CgroupError('this kernel has no blkio.leaf_weight (CFQ was removed in Linux 5.0), so leaf weights cannot be enforced; remove the setting', `${F}.leafWeight`);
    }
    put(ctx, 'blkio.leaf_weight', b.leafWeight, `${F}.leafWeight`);
  }
  b.weightDevice?.forEach((d, i) => {
    const f = `${F}.weightDevice[${i}]`;
    if (d.weight) {
      const w = weightFiles(ctx, `${f}.weight`);
      put(ctx, w.device, `${d.major}:${d.minor} ${d.weight}`, `${f}.weight`);
      if (w.bfq && !usesBfq(ctx.fs, d)) ctx.warn(`${f}.weight: device ${d.major}:${d.minor} does not use the bfq I/O scheduler, so its weight has no effect`);
    }
    if (d.leafWeight) {
      if (!has(ctx, 'blkio.leaf_weight_device')) throw new CgroupError('this kernel has no blkio.leaf_weight_device (CFQ was removed in Linux 5.0); remove the setting', `${f}.leafWeight`);
      put(ctx, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${f}.leafWeight`);
    }
  });
  throttle(ctx, 'blkio.throttle.read_bps_device', b.throttleReadBpsDevice, `${F}.throttleReadBpsDevice`);
  throttle(ctx, 'blkio.throttle.write_bps_device', b.throttleWriteBpsDevice, `${F}.throttleWriteBpsDevice`);
  throttle(ctx, 'blkio.throttle.read_iops_device', b.throttleReadIOPSDevice, `${F}.throttleReadIOPSDevice`);
  throttle(ctx, 'blkio.throttle.write_iops_device', b.throttleWriteIOPSDevice, `${F}.throttleWriteIOPSDevice`);
}
