// The typed options of create/run (the library's and the CLI's), normalized and validated once
// into docker's Config and HostConfig. Nothing is created before this succeeds.
import { parseSignal } from '../runtime/launch.js';
import { invalid } from './errors.js';
import { adaptCpuShares, checkCpuset, checkNanoCpus } from './resource-checks.js';
import { validName } from './ids.js';
import { normalizeNetwork, type NetworkCreateOptions } from './networking-options.js';
import { normalizeBlkio, type BlkioOptions } from './blkio.js';
import { normalizeUserns, type UsernsCreateOptions } from './userns-options.js';
import { normalizeHealth, type HealthOptions } from './health-config.js';
import type { ContainerConfig, DeviceMapping, HostConfig, MountSpec, RestartPolicy, Ulimit } from './types.js';
import {
  parseCpus, parseDevice, parseEnv, parseKeyValues, parseMountFlag, parseRestartPolicy, parseSize, parseSwap, parseTmpfsFlag,
  parseUlimit, parseVolumeFlag,
} from './units.js';

export interface CreateOptions extends BlkioOptions, HealthOptions, NetworkCreateOptions, UsernsCreateOptions {
  /** An image reference (needs the image store), or... */
  image?: string;
  /** ...a root filesystem directory used in place (like podman's --rootfs). */
  rootfs?: string;
  /** The command (docker's CMD); with `entrypoint`, its arguments. */
  cmd?: string[];
  /** Overrides the image's entrypoint; [] or "" resets it. */
  entrypoint?: string[] | string;
  name?: string;
  env?: string[] | Record<string, string>;
  workdir?: string;
  /** "uid[:gid]" or "name[:group]" (looked up in the rootfs). */
  user?: string;
  hostname?: string;
  domainname?: string;
  labels?: Record<string, string>;
  tty?: boolean;
  /** Keep stdin open (-i). */
  interactive?: boolean;
  /** Close the container's stdin when the first attached client's stdin ends (docker run -i). */
  stdinOnce?: boolean;
  /** -v specs: "/host:/ctr:ro", "name:/ctr", "/ctr". */
  volumes?: string[];
  /** --mount specs, or parsed mounts. */
  mounts?: (string | MountSpec)[];
  /** --tmpfs: { "/run": "size=64m" } or ["/run:size=64m"]. */
  tmpfs?: Record<string, string> | string[];
  readOnly?: boolean;
  init?: boolean;
  restart?: string | RestartPolicy;
  autoRemove?: boolean;
  memory?: number | string;
  memorySwap?: number | string;
  cpus?: number | string;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  devices?: (string | DeviceMapping)[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  ulimits?: (string | Ulimit)[];
  sysctls?: Record<string, string> | string[];
  stopSignal?: string;
  stopTimeout?: number;
  logDriver?: 'json-file' | 'cri' | 'none';
  logOpts?: Record<string, string>;
  /** --storage-opt: "size=16m" (the cap on the container's writable layer; images only). */
  storageOpt?: string[];
  /** When to pull the image: missing (default, as docker), never, always. */
  pull?: 'missing' | 'never' | 'always';
  /** --platform: "os/arch[/variant]" to pull and run (default: this host's). */
  platform?: string;
}

export interface NormalizedCreate {
  name?: string;
  image: string;
  rootfs?: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
}

const field = (flag: string, value: unknown, e: unknown) => invalid(`invalid argument "${String(value)}" for "${flag}" flag: ${(e as Error).message}`);

export function normalizeCreate(o: CreateOptions): NormalizedCreate {
  if (!o.image && !o.rootfs) throw invalid('an image or a rootfs directory is required');
  if (o.name !== undefined && !validName(o.name.replace(/^\//, ''))) {
    throw invalid(`Invalid container name (${o.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const env = Array.isArray(o.env) ? parseEnv(o.env) : Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const entrypoint = o.entrypoint === undefined ? null : typeof o.entrypoint === 'string' ? (o.entrypoint ? [o.entrypoint] : []) : o.entrypoint;
  const stopSignal = o.stopSignal ?? 'SIGTERM';
  if (parseSignal(stopSignal) === null) throw invalid(`Invalid signal: ${stopSignal}`);
  if (o.stopTimeout !== undefined && (!Number.isInteger(o.stopTimeout) || o.stopTimeout < -1)) throw invalid(`invalid stop timeout: ${o.stopTimeout}`);
  const config: ContainerConfig = {
    Hostname: o.hostname ?? '', Domainname: o.domainname ?? '', User: o.user ?? '',
    AttachStdin: !!o.interactive, AttachStdout: true, AttachStderr: true,
    Tty: !!o.tty, OpenStdin: !!o.interactive, StdinOnce: !!o.stdinOnce,
    Env: env, Cmd: o.cmd ?? [], Entrypoint: entrypoint, Image: o.image ?? o.rootfs!, WorkingDir: o.workdir ?? '',
    Labels: { ...(o.labels ?? {}) }, StopSignal: stopSignal,
    ...(o.stopTimeout !== undefined ? { StopTimeout: o.stopTimeout } : {}),
  };
  const health = normalizeHealth(o);
  if (health) config.Healthcheck = health;
  if (config.Hostname && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(config.Hostname)) throw invalid(`invalid hostname format: ${config.Hostname}`);
  if (config.WorkingDir && !config.WorkingDir.startsWith('/')) throw invalid(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);

  const mounts: MountSpec[] = [];
  const binds: string[] = [];
  for (const v of o.volumes ?? []) {
    mounts.push(parseVolumeFlag(v));
    binds.push(v);
  }
  for (const m of o.mounts ?? []) mounts.push(typeof m === 'string' ? parseMountFlag(m) : m);
  const tmpfs: Record<string, string> = Array.isArray(o.tmpfs) ? Object.fromEntries(o.tmpfs.map(parseTmpfsFlag)) : { ...(o.tmpfs ?? {}) };
  const seen = new Set<string>();
  for (const t of [...mounts.map((m) => m.Target), ...Object.keys(tmpfs)]) {
    const n = t.replace(/\/+$/, '') || '/';
    if (seen.has(n)) throw invalid(`Duplicate mount point: ${n}`);
    seen.add(n);
  }

  let restart: RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };
  // docker's words as they are: neither its CLI nor its daemon calls these flag errors
  if (o.restart !== undefined) restart = typeof o.restart === 'string' ? parseRestartPolicy(o.restart) : o.restart;
  if (o.autoRemove && restart.Name !== 'no') throw invalid('conflicting options: cannot specify both --restart and --rm'); // docker 28's words

  const size = (flag: string, v: number | string | undefined, parse: (x: number | string) => number) => {
    if (v === undefined || v === '') return 0;
    try {
      return parse(v);
    } catch (e) {
      throw field(flag, v, e);
    }
  };
  const memory = size('-m, --memory', o.memory, parseSize);
  const memorySwap = size('--memory-swap', o.memorySwap, parseSwap);
  if (memory > 0 && memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
  if (memorySwap > 0 && memory === 0) throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (memorySwap > 0 && memorySwap < memory) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  const nanoCpus = size('--cpus', o.cpus, parseCpus);
  checkNanoCpus(nanoCpus); // resource-checks.ts: docker's daemon-side checks
  if (o.cpuShares !== undefined && (!Number.isInteger(o.cpuShares) || o.cpuShares < 0)) throw invalid(`invalid argument "${o.cpuShares}" for "-c, --cpu-shares" flag: must be a non-negative integer`);
  checkCpuset(o.cpusetCpus ?? '');
  if (o.pidsLimit !== undefined && !Number.isInteger(o.pidsLimit)) throw invalid(`invalid argument "${o.pidsLimit}" for "--pids-limit" flag`);

  const ulimits = (o.ulimits ?? []).map((u) => (typeof u === 'string' ? parseUlimit(u) : u));
  const sysctls = Array.isArray(o.sysctls) ? parseKeyValues(o.sysctls, 'sysctl') : { ...(o.sysctls ?? {}) };
  for (const s of o.securityOpt ?? []) {
    if (!/^(seccomp[=:].+|no-new-privileges(?:[=:](true|false))?|label[=:].*|apparmor[=:].*)$/.test(s)) throw invalid(`Invalid --security-opt: ${JSON.stringify(s)}`);
  }
  const logType = o.logDriver ?? 'json-file';
  if (!['json-file', 'cri', 'none'].includes(logType)) throw invalid(`logger: no log driver named '${logType}' is registered (use json-file, cri or none)`);
  const logOpts = { ...(o.logOpts ?? {}) };
  for (const k of Object.keys(logOpts)) {
    if (k !== 'max-size' && k !== 'max-file') throw invalid(`unknown log opt '${k}' for ${logType} log driver`);
  }
  if (logOpts['max-size'] !== undefined) parseSize(logOpts['max-size']);
  if (logOpts['max-file'] !== undefined && !/^[1-9]\d*$/.test(logOpts['max-file'])) throw invalid(`invalid value for max-file: ${logOpts['max-file']}`);
  if (logOpts['max-file'] !== undefined && logOpts['max-file'] !== '1' && logOpts['max-size'] === undefined) throw invalid('max-file cannot be set without max-size');

  // bridge networking needs root (CAP_NET_ADMIN in the host's netns); rootless defaults to none
  const net = normalizeNetwork(o, process.getuid?.() === 0 ? 'bridge' : 'none');
  const hostConfig: HostConfig = {
    Binds: binds, Mounts: mounts, Tmpfs: tmpfs, ReadonlyRootfs: !!o.readOnly, Init: !!o.init,
    RestartPolicy: restart, AutoRemove: !!o.autoRemove, ...net.hostConfig,
    Memory: memory, MemorySwap: memorySwap, NanoCpus: nanoCpus, CpuShares: adaptCpuShares(o.cpuShares ?? 0), CpusetCpus: o.cpusetCpus ?? '',
    PidsLimit: o.pidsLimit ?? null,
    Devices: (o.devices ?? []).map((d) => (typeof d === 'string' ? parseDevice(d) : d)),
    CapAdd: o.capAdd ?? [], CapDrop: o.capDrop ?? [], Privileged: !!o.privileged, SecurityOpt: o.securityOpt ?? [],
    Ulimits: ulimits, Sysctls: sysctls, LogConfig: { Type: logType, Config: logOpts },
    ...normalizeBlkio(o),
    ...normalizeUserns(o),
  };
  if (net.exposed.length) config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(net.exposed.map((p) => [p, {}])) };
  return { ...(o.name !== undefined ? { name: o.name.replace(/^\//, '') } : {}), image: config.Image, ...(o.rootfs ? { rootfs: o.rootfs } : {}), config, hostConfig };
}
