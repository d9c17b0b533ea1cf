// cgroup v2 io controller: io.bfq.weight or io.weight, and io.max for throttling.
import type { LinuxBlockIO } from '../../spec/types.js';
import { blkioWeightToIoWeight } from '../convert.js';
import { usesBfq } from '../host.js';
import { has, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.blockIO';

export function applyIoV2(ctx: ApplyCtx, b: LinuxBlockIO): void {
  const bfq = has(ctx, 'io.bfq.weight');
  if (b.weight) {
    if (bfq) {
      put(ctx, 'io.bfq.weight', b.weight, `${F}.weight`);
      if (!usesBfq(ctx.fs)) ctx.warn(`${F}.weight: written to io.bfq.weight, but no block device uses the bfq I/O scheduler, so the weight has no effect`);
    } else put(ctx, 'io.weight', `default ${blkioWeightToIoWeight(b.weight)}`, `${F}.weight`);
  }
  b.weightDevice?.forEach((d, i) => {
    if (!d.weight) return;
    const f = `${F}.weightDevice[${i}].weight`;
    if (bfq) put(ctx, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, f);
    else put(ctx, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, f);
  });
  // One io.max line per device with every limit given for it; 0 removes a limit ("max").
  const lines = new Map<string, string[]>();
  const add = (list: LinuxBlockIO['throttleReadBpsDevice'], key: string): void => {
    for (const t of list ?? []) {
      const dev = `${t.major}:${t.minor}`;
      const l = lines.get(dev) ?? [];
      l.push(`${key}=${t.rate === 0 ? 'max' : t.rate}`);
      lines.set(dev, l);
    }
  };
  add(b.throttleReadBpsDevice, 'rbps');
  add(b.throttleWriteBpsDevice, 'wbps');
  add(b.throttleReadIOPSDevice, 'riops');
  add(b.throttleWriteIOPSDevice, 'wiops');
  for (const [dev, l] of lines) put(ctx, 'io.max', `${dev} ${l.join(' ')}`, `${F}.throttle (device ${dev})`);
}
