// The OCI runtime features document `berth-oci features` prints (runtime-spec features.md), the
// counterpart of `runc features`. Static data from ./constants.ts plus one small check: which
// seccomp filter flags the running kernel supports, from its version.

import { release } from 'node:os';

import { CAPABILITY_NAMES } from './capabilities.js';
import { HOOK_NAMES, NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_ARCHS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from './constants.js';
import { knownMountOptions } from './mount-options.js';
import { OCI_VERSION } from './types.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: LinuxFeatures;
  annotations: Record<string, string>;
  potentiallyUnsafeConfigAnnotations?: string[];
}

export interface LinuxFeatures {
  namespaces: string[];
  capabilities: string[];
  cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
  seccomp: {
    enabled: boolean;
    actions: string[];
    operators: string[];
    archs: string[];
    knownFlags: string[];
    supportedFlags: string[];
  };
  apparmor: { enabled: boolean };
  selinux: { enabled: boolean };
  intelRdt: { enabled: boolean };
  mountExtensions: { idmap: { enabled: boolean } };
}

/** Version of berth reported in the io.berth.version annotation. */
export const BERTH_VERSION = '0.1.0';

/** Kernel version (major, minor) from which each seccomp filter flag exists. */
const SECCOMP_FLAG_SINCE: Record<string, readonly [number, number]> = {
  SECCOMP_FILTER_FLAG_TSYNC: [3, 17],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [5, 19],
};

/** [major, minor] of a kernel release string such as "6.8.0-45-generic", or undefined. */
export function parseKernelRelease(rel: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The seccomp filter flags a kernel of this release supports (all known ones if it is unparsable). */
export function supportedSeccompFlags(kernelRelease: string = release()): string[] {
  const v = parseKernelRelease(kernelRelease);
  return SECCOMP_FLAGS.filter((flag) => {
    const since = SECCOMP_FLAG_SINCE[flag];
    return !v || !since || v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
  });
}

export interface FeaturesOptions {
  /** Kernel release to judge seccomp flag support by; default os.release(). */
  kernelRelease?: string;
  /** Version string for the io.berth.version annotation; default BERTH_VERSION. */
  version?: string;
}

export function features(opts: FeaturesOptions = {}): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS].sort(),
        operators: [...SECCOMP_OPERATORS].sort(),
        archs: [...SECCOMP_ARCHS].sort(),
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: supportedSeccompFlags(opts.kernelRelease),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: {
      'io.berth.version': opts.version ?? BERTH_VERSION,
      'io.berth.checkpoint.enabled': 'true',
      // berth compiles seccomp filters itself (src/seccomp/), without libseccomp.
      'io.berth.seccomp.compiler': 'berth',
    },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
