// `update`'s block I/O flags: docker's --blkio-weight, podman's per-device weight and throttles
// (src/engine/update-blkio.ts merges them). Checked before any container is touched, so a bad
// value exits 125 with nothing changed.
import { EngineError } from '../../engine/errors.js';
import { parseCpus, parseRestartPolicy, parseSize, parseSwap, validCpuset } from '../../engine/units.js';
import { checkBlkioUpdate, type BlkioOptions } from '../../engine/update-blkio.js';
import { UsageError, type FlagDef, type Flags } from './flags.js';
import { BLKIO_FLAGS } from './resource-health-flags.js';

/** run's block I/O flags; on update a 0 rate removes a limit, and the weight's default is shown. */
export const UPDATE_BLKIO_FLAGS: FlagDef[] = BLKIO_FLAGS.map((f) => ({
  ...f, help: f.name.startsWith('device-') ? `${f.help} (0 removes the limit)` : f.name === 'blkio-weight' ? `${f.help} (default 0)` : f.help,
}));

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
