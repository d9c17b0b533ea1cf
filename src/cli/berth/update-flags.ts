// `update`'s block I/O flags: docker's --blkio-weight, podman's per-device weight and throttles
// (src/engine/update-blkio.ts merges them). Checked before any container is touched, so a bad
// value exits 125 with nothing changed.
import { EngineError } from '../../engine/errors.js';
import { parseCpus, parseRestartPolicy, parseSize, parseSwap, validCpuset } from '../../engine/units.js';
import { checkBlkioUpdate, type BlkioOptions } from '../../engine/update-blkio.js';
import { UsageError, type FlagDef, type Flags } from './flags.js';

export const UPDATE_BLKIO_FLAGS: FlagDef[] = [
  { name: 'blkio-weight', kind: 'int', value: 'uint16', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  { name: 'blkio-weight-device', kind: 'list', help: 'Block IO weight (relative device weight)' },
  { name: 'device-read-bps', kind: 'list', help: 'Limit read rate (bytes per second) from a device (0 removes the limit)' },
  { name: 'device-read-iops', kind: 'list', help: 'Limit read rate (IO per second) from a device (0 removes the limit)' },
  { name: 'device-write-bps', kind: 'list', help: 'Limit write rate (bytes per second) to a device (0 removes the limit)' },
  { name: 'device-write-iops', kind: 'list', help: 'Limit write rate (IO per second) to a device (0 removes the limit)' },
];

/** The block I/O options given on the command line (only those), validated. */
export function blkioUpdateOptions(f: Flags): BlkioOptions {
  const o: BlkioOptions = {};
  const list = (k: string, set: (v: string[]) => void) => {
    const v = f[k] as string[] | undefined;
    if (v?.length) set(v);
  };
  if (f['blkio-weight'] !== undefined) o.blkioWeight = f['blkio-weight'] as number;
  list('blkio-weight-device', (v) => (o.blkioWeightDevice = v));
  list('device-read-bps', (v) => (o.deviceReadBps = v));
  list('device-write-bps', (v) => (o.deviceWriteBps = v));
  list('device-read-iops', (v) => (o.deviceReadIops = v));
  list('device-write-iops', (v) => (o.deviceWriteIops = v));
  asUsage(() => checkBlkioUpdate(o));
  return o;
}

/** A bad value is the caller's mistake: docker's flag error (exit 125), not a per-container failure (exit 1). */
function asUsage(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof EngineError) throw new UsageError(e.message);
    throw e;
  }
}

/** Checks update's other values the way the engine parses them, before any container is touched. */
export function checkUpdateValues(u: { memory?: string; memorySwap?: string; cpus?: string; cpusetCpus?: string; restart?: string }): void {
  const flag = (name: string, v: string | undefined, parse: (v: string) => unknown) => {
    if (v === undefined) return;
    try {
      parse(v);
    } catch (e) {
      throw new UsageError(`invalid argument "${v}" for "${name}" flag: ${(e as Error).message}`);
    }
  };
  flag('-m, --memory', u.memory, parseSize);
  flag('--memory-swap', u.memorySwap, parseSwap);
  flag('--cpus', u.cpus, parseCpus);
  flag('--restart', u.restart, parseRestartPolicy);
  if (u.cpusetCpus !== undefined && !validCpuset(u.cpusetCpus)) throw new UsageError(`Invalid value ${u.cpusetCpus} for cpuset cpus`);
}
