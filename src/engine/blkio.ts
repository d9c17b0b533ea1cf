// Block I/O flags (--blkio-weight, --blkio-weight-device, --device-{read,write}-{bps,iops}):
// parsed into docker's HostConfig fields, then mapped to the OCI spec's linux.resources.blockIO
// (major:minor of each device; the cgroup layer enforces it or explains why it cannot).
import { statSync } from 'node:fs';
import type { LinuxBlockIO, LinuxThrottleDevice } from '../spec/types.js';
import { invalid } from './errors.js';
import { parseSize } from './units.js';

export interface WeightDevice {
  Path: string;
  Weight: number;
}
export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

/** docker's HostConfig block I/O fields (optional: records made before they existed lack them). */
export interface BlkioHostConfig {
  BlkioWeight?: number;
  BlkioWeightDevice?: WeightDevice[];
  BlkioDeviceReadBps?: ThrottleDevice[];
  BlkioDeviceWriteBps?: ThrottleDevice[];
  BlkioDeviceReadIOps?: ThrottleDevice[];
  BlkioDeviceWriteIOps?: ThrottleDevice[];
}

export interface BlkioOptions {
  /** 10..1000 (0: unset). */
  blkioWeight?: number;
  /** "/dev/sda:200" or parsed. */
  blkioWeightDevice?: (string | WeightDevice)[];
  /** "/dev/sda:1mb" (docker's sizes) or parsed (bytes per second). */
  deviceReadBps?: (string | ThrottleDevice)[];
  deviceWriteBps?: (string | ThrottleDevice)[];
  /** "/dev/sda:1000" or parsed (operations per second). */
  deviceReadIops?: (string | ThrottleDevice)[];
  deviceWriteIops?: (string | ThrottleDevice)[];
}

const flagErr = (flag: string, v: string, why: string) => invalid(`invalid argument "${v}" for "${flag}" flag: ${why}`);

function checkPath(flag: string, v: string, path: string): void {
  if (!path.startsWith('/')) throw flagErr(flag, v, `bad format for device path: ${v} (use <device-path>:<value>, with an absolute path)`);
}

function splitDev(flag: string, v: string): [string, string] {
  const i = v.lastIndexOf(':');
  if (i <= 0) throw flagErr(flag, v, `bad format: ${v} (use <device-path>:<value>)`);
  const path = v.slice(0, i);
  checkPath(flag, v, path);
  return [path, v.slice(i + 1)];
}

export function parseThrottle(flag: string, v: string, bytes: boolean): ThrottleDevice {
  const [path, raw] = splitDev(flag, v);
  let rate: number;
  if (bytes) {
    try {
      rate = parseSize(raw);
    } catch {
      throw flagErr(flag, v, `invalid rate for device: ${v}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
    }
  } else {
    if (!/^\d+$/.test(raw)) throw flagErr(flag, v, `invalid rate for device: ${v}. The correct format is <device-path>:<number>. Number must be a positive integer`);
    rate = Number(raw);
  }
  return { Path: path, Rate: rate };
}

export function parseWeightDevice(v: string): WeightDevice {
  const flag = '--blkio-weight-device';
  const [path, raw] = splitDev(flag, v);
  const w = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(w >= 10 && w <= 1000)) throw flagErr(flag, v, `invalid weight for device: ${v} (a number from 10 to 1000)`);
  return { Path: path, Weight: w };
}

/** Validates and normalizes the options into HostConfig fields (only those given). */
export function normalizeBlkio(o: BlkioOptions): BlkioHostConfig {
  const hc: BlkioHostConfig = {};
  if (o.blkioWeight !== undefined && o.blkioWeight !== 0) {
    if (!Number.isInteger(o.blkioWeight) || o.blkioWeight < 10 || o.blkioWeight > 1000) throw invalid(`Range of blkio weight is from 10 to 1000 (got ${o.blkioWeight})`);
    hc.BlkioWeight = o.blkioWeight;
  }
  const thr = (flag: string, list: (string | ThrottleDevice)[] | undefined, bytes: boolean) =>
    (list ?? []).map((x) => {
      if (typeof x === 'string') return parseThrottle(flag, x, bytes);
      checkPath(flag, x.Path, x.Path);
      if (!Number.isInteger(x.Rate) || x.Rate < 0) throw flagErr(flag, `${x.Path}:${x.Rate}`, 'the rate must be a non-negative integer');
      return x;
    });
  const wd = (o.blkioWeightDevice ?? []).map((x) => (typeof x === 'string' ? parseWeightDevice(x) : parseWeightDevice(`${x.Path}:${x.Weight}`)));
  if (wd.length) hc.BlkioWeightDevice = wd;
  const rb = thr('--device-read-bps', o.deviceReadBps, true);
  if (rb.length) hc.BlkioDeviceReadBps = rb;
  const wb = thr('--device-write-bps', o.deviceWriteBps, true);
  if (wb.length) hc.BlkioDeviceWriteBps = wb;
  const ri = thr('--device-read-iops', o.deviceReadIops, false);
  if (ri.length) hc.BlkioDeviceReadIOps = ri;
  const wi = thr('--device-write-iops', o.deviceWriteIops, false);
  if (wi.length) hc.BlkioDeviceWriteIOps = wi;
  return hc;
}

/** major:minor of a block device (docker: only block devices can be throttled or weighted). */
export function blockDeviceNumbers(path: string, stat: (p: string) => { rdev: number; isBlockDevice(): boolean } = statSync): { major: number; minor: number } {
  let st;
  try {
    st = stat(path);
  } catch (e) {
    throw invalid(`error getting block device information for ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  if (!st.isBlockDevice()) throw invalid(`${path} is not a block device: block I/O limits need a block device such as /dev/sda`);
  // Linux dev_t: major = bits 8..19 (+ 32..43), minor = bits 0..7 + 20..31
  const d = st.rdev;
  return { major: ((d >> 8) & 0xfff) | (Math.floor(d / 2 ** 32) & ~0xfff), minor: (d & 0xff) | ((d >> 12) & 0xfff00) };
}

/** The OCI blockIO of the HostConfig fields (undefined when none is set). */
export function blockIOOf(hc: BlkioHostConfig, stat?: Parameters<typeof blockDeviceNumbers>[1]): LinuxBlockIO | undefined {
  const b: LinuxBlockIO = {};
  if (hc.BlkioWeight) b.weight = hc.BlkioWeight;
  if (hc.BlkioWeightDevice?.length) b.weightDevice = hc.BlkioWeightDevice.map((w) => ({ ...blockDeviceNumbers(w.Path, stat), weight: w.Weight }));
  const thr = (l: ThrottleDevice[] | undefined): LinuxThrottleDevice[] | undefined => (l?.length ? l.map((t) => ({ ...blockDeviceNumbers(t.Path, stat), rate: t.Rate })) : undefined);
  const set = <K extends keyof LinuxBlockIO>(k: K, v: LinuxBlockIO[K] | undefined) => {
    if (v !== undefined) b[k] = v;
  };
  set('throttleReadBpsDevice', thr(hc.BlkioDeviceReadBps));
  set('throttleWriteBpsDevice', thr(hc.BlkioDeviceWriteBps));
  set('throttleReadIOPSDevice', thr(hc.BlkioDeviceReadIOps));
  set('throttleWriteIOPSDevice', thr(hc.BlkioDeviceWriteIOps));
  return Object.keys(b).length ? b : undefined;
}
