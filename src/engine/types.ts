// The engine's records, shaped like docker's (Config, HostConfig) so that inspect output and,
// later, the Docker Engine API map onto them directly.
import type { Spec } from '../spec/types.js';
import type { ContainerState } from './state.js';
import type { BlkioHostConfig } from './blkio.js';
import type { UsernsHostConfig } from './userns-options.js';
import type { HealthConfig } from './health-config.js';

export type RestartPolicyName = 'no' | 'always' | 'on-failure' | 'unless-stopped';
export interface RestartPolicy {
  Name: RestartPolicyName;
  MaximumRetryCount: number;
}

/** A mount as docker's HostConfig.Mounts has it. */
export interface MountSpec {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source: string;
  Target: string;
  ReadOnly: boolean;
  /** bind: rprivate (default), private, rshared, shared, rslave, slave. */
  Propagation?: string;
  /** tmpfs: size in bytes and mode. */
  TmpfsSize?: number;
  TmpfsMode?: number;
  /** volume: create it with these labels / do not copy. */
  VolumeLabels?: Record<string, string>;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[];
  Entrypoint: string[] | null;
  Image: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  StopSignal: string;
  StopTimeout?: number;
  /** Ports the image or --expose declares ("80/tcp": {}); -P publishes them. */
  ExposedPorts?: Record<string, object>;
  /** docker's Healthcheck (durations in nanoseconds); Test ["NONE"] disables the image's. */
  Healthcheck?: HealthConfig;
}

export interface LogConfig {
  Type: 'json-file' | 'cri' | 'none';
  Config: Record<string, string>;
}

export interface HostConfig extends BlkioHostConfig, Partial<UsernsHostConfig> {
  /** --storage-opt as docker's inspect shows it ({"size": "1G"}); absent when none was given. */
  StorageOpt?: Record<string, string>;
  Binds: string[];
  Mounts: MountSpec[];
  Tmpfs: Record<string, string>;
  ReadonlyRootfs: boolean;
  Init: boolean;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  /** bridge (default), none, host, a network's name, container:ID, or a netns path (networking.ts). */
  NetworkMode: string;
  /** -p, docker's shape ("80/tcp": [{ HostIp, HostPort }]); -P; --dns*; --add-host. */
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
  PublishAllPorts?: boolean;
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  ExtraHosts?: string[];
  /** docker's NetworkingConfig endpoint settings of the container's network (--ip, --network-alias). */
  /** IPv6Address: --ip6; MacAddress: --mac-address; EgressRate: --egress-rate in bytes/s (berth's own). */
  NetworkEndpoint?: { Aliases: string[]; IPv4Address: string; IPv6Address?: string; MacAddress?: string; EgressRate?: number };
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpusetCpus: string;
  PidsLimit: number | null;
  Devices: DeviceMapping[];
  CapAdd: string[];
  CapDrop: string[];
  Privileged: boolean;
  SecurityOpt: string[];
  Ulimits: Ulimit[];
  Sysctls: Record<string, string>;
  LogConfig: LogConfig;
}

/** One container as the metadata store holds it. */
export interface ContainerRecord {
  id: string;
  name: string;
  /** The image reference, or the rootfs directory for a container made with --rootfs. */
  image: string;
  rootfs: string;
  created: string;
  state: ContainerState;
  /** The container's init in the host pid namespace (0 when not running). */
  pid: number;
  monitorPid: number;
  /** Field 22 of /proc/<monitorPid>/stat when it started: detects a reused pid. */
  monitorStart: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  restartCount: number;
  /** False while a stopped container may still have a cgroup or a state directory to remove. */
  cleaned: boolean;
  config: ContainerConfig;
  hostConfig: HostConfig;
  spec: Spec;
  /** The compiled seccomp program of the spec (compiled once at create; '' for none). */
  seccompFile: string;
}

export interface VolumeRecord {
  name: string;
  driver: 'local';
  mountpoint: string;
  created: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}

export interface EngineEvent {
  /** Monotonic sequence number in the store. */
  seq: number;
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
  type: 'container' | 'volume';
  action: string;
  actorId: string;
  attributes: Record<string, string>;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
