// The block I/O and health check flags of run/create (docker's), kept apart from commands.ts.
import type { BlkioOptions } from '../../engine/blkio.js';
import type { HealthOptions } from '../../engine/health-config.js';
import type { FlagDef, Flags } from './flags.js';

/** docker's block I/O flags of run/create (update takes them too: update-flags.ts). */
export const BLKIO_FLAGS: FlagDef[] = [
  { name: 'blkio-weight', kind: 'int', value: 'uint16', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
  { name: 'blkio-weight-device', kind: 'list', help: 'Block IO weight (relative device weight)' },
  { name: 'device-read-bps', kind: 'list', help: 'Limit read rate (bytes per second) from a device' },
  { name: 'device-read-iops', kind: 'list', help: 'Limit read rate (IO per second) from a device' },
  { name: 'device-write-bps', kind: 'list', help: 'Limit write rate (bytes per second) to a device' },
  { name: 'device-write-iops', kind: 'list', help: 'Limit write rate (IO per second) to a device' },
];

export const BLKIO_HEALTH_FLAGS: FlagDef[] = [
  ...BLKIO_FLAGS,
  { name: 'health-cmd', kind: 'string', help: 'Command to run to check health' },
  { name: 'health-interval', kind: 'string', value: 'duration', help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', kind: 'int', help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-interval', kind: 'string', value: 'duration', help: 'Time between running the check during the start period (ms|s|m|h) (default 0s)' },
  { name: 'health-start-period', kind: 'string', value: 'duration', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', kind: 'string', value: 'duration', help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'no-healthcheck', kind: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
];

export function blkioHealthOptions(f: Flags): BlkioOptions & HealthOptions {
  const s = (k: string) => f[k] as string | undefined;
  const l = (k: string) => (f[k] as string[] | undefined) ?? [];
  const o: BlkioOptions & HealthOptions = {
    blkioWeightDevice: l('blkio-weight-device'),
    deviceReadBps: l('device-read-bps'),
    deviceWriteBps: l('device-write-bps'),
    deviceReadIops: l('device-read-iops'),
    deviceWriteIops: l('device-write-iops'),
  };
  if (f['blkio-weight'] !== undefined) o.blkioWeight = f['blkio-weight'] as number;
  if (s('health-cmd') !== undefined) o.healthCmd = s('health-cmd')!;
  if (s('health-interval') !== undefined) o.healthInterval = s('health-interval')!;
  if (s('health-timeout') !== undefined) o.healthTimeout = s('health-timeout')!;
  if (s('health-start-period') !== undefined) o.healthStartPeriod = s('health-start-period')!;
  if (s('health-start-interval') !== undefined) o.healthStartInterval = s('health-start-interval')!;
  if (f['health-retries'] !== undefined) o.healthRetries = f['health-retries'] as number;
  if (f['no-healthcheck']) o.noHealthcheck = true;
  return o;
}
