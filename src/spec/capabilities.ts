// Linux capability names (as written in OCI config.json) and their numbers, from
// include/uapi/linux/capability.h. CAP_CHECKPOINT_RESTORE (40, Linux 5.9) is the last one.

export const CAPABILITIES = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
} as const;

export type CapabilityName = keyof typeof CAPABILITIES;

/** The highest capability number berth knows (the kernel may know more: see /proc/sys/kernel/cap_last_cap). */
export const CAP_LAST_CAP = 40;

const BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(CAPABILITIES));

/** All known capability names, ordered by number. */
export const CAPABILITY_NAMES: readonly CapabilityName[] = Object.freeze(
  (Object.keys(CAPABILITIES) as CapabilityName[]).sort((a, b) => CAPABILITIES[a] - CAPABILITIES[b]),
);

export function isCapabilityName(name: string): name is CapabilityName {
  return BY_NAME.has(name);
}

/** The number of a capability name such as "CAP_SYS_ADMIN", or undefined if unknown. */
export function capabilityNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}

/**
 * The 64-bit capability mask (bit n set for capability number n) of a list of names, as the
 * kernel's capset(2) takes it split into two 32-bit words. Throws a RangeError on an unknown name;
 * config.json names are checked by validate.ts before they get here.
 */
export function capabilityMask(names: Iterable<string>): bigint {
  let mask = 0n;
  for (const name of names) {
    const n = BY_NAME.get(name);
    if (n === undefined) throw new RangeError(`unknown capability ${JSON.stringify(name)}`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** The names of the known capabilities set in a mask, ordered by number (unknown bits are ignored). */
export function capabilityNamesFromMask(mask: bigint): CapabilityName[] {
  return CAPABILITY_NAMES.filter((name) => (mask >> BigInt(CAPABILITIES[name])) & 1n);
}

/** A likely intended name for a misspelt one ("net_admin" -> "CAP_NET_ADMIN"), if there is one. */
export function suggestCapability(name: string): CapabilityName | undefined {
  const upper = name.trim().toUpperCase().replace(/[-\s]/g, '_');
  for (const candidate of [upper, `CAP_${upper}`]) {
    if (isCapabilityName(candidate)) return candidate;
  }
  return undefined;
}
