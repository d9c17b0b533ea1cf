// --userns, --uidmap, --gidmap of create/run, validated where they enter (podman's forms):
//   --userns=host          the host's user namespace (default; docker without userns-remap)
//   --userns=auto[:size=N] a private range of N ids (default 65536) that no other container has
//   --uidmap/--gidmap CONTAINER:HOST:SIZE (repeatable; a --uidmap alone serves as --gidmap too)
// The container's rootfs then appears owned right inside (runtime/idmap-rootfs.ts).
import type { IDMapping } from '../spec/types.js';
import { invalid } from './errors.js';

export interface UsernsCreateOptions {
  userns?: string;
  uidmap?: string[];
  gidmap?: string[];
}

export interface UsernsHostConfig {
  /** docker's field: "host" or "" (host), "auto", "auto:size=N", "private" (explicit maps). */
  UsernsMode: string;
  UidMap?: IDMapping[];
  GidMap?: IDMapping[];
}

export const AUTO_DEFAULT_SIZE = 65536;
const MAX_ID = 2 ** 32 - 1;

/** The size asked by "auto[:size=N]", or undefined when the mode is not auto. */
export function autoSize(mode: string): number | undefined {
  if (mode === 'auto') return AUTO_DEFAULT_SIZE;
  const m = /^auto:size=(\d+)$/.exec(mode);
  return m ? Number(m[1]) : undefined;
}

/** Parses one "CONTAINER:HOST:SIZE" of --uidmap/--gidmap. */
export function parseIdMapping(flag: string, v: string): IDMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(v.trim());
  if (!m) throw invalid(`invalid ${flag} ${JSON.stringify(v)}: use CONTAINER_ID:HOST_ID:SIZE, e.g. 0:100000:65536`);
  const [c, h, n] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n < 1) throw invalid(`invalid ${flag} ${JSON.stringify(v)}: SIZE must be at least 1`);
  if (c + n - 1 > MAX_ID || h + n - 1 > MAX_ID) throw invalid(`invalid ${flag} ${JSON.stringify(v)}: the range passes ${MAX_ID}`);
  return { containerID: c, hostID: h, size: n };
}

/** Ranges must not overlap on either side, and container root must be mapped. */
export function checkMappings(flag: string, maps: IDMapping[]): void {
  const overlap = (key: 'containerID' | 'hostID') => {
    const s = [...maps].sort((a, b) => a[key] - b[key]);
    for (let i = 1; i < s.length; i++) {
      if (s[i]![key] < s[i - 1]![key] + s[i - 1]!.size) {
        throw invalid(`invalid ${flag}: ${key === 'hostID' ? 'host' : 'container'} ranges overlap (${fmt(s[i - 1]!)} and ${fmt(s[i]!)})`);
      }
    }
  };
  overlap('containerID');
  overlap('hostID');
  if (!maps.some((m) => m.containerID === 0)) throw invalid(`invalid ${flag}: container id 0 (root) must be mapped, e.g. 0:100000:65536`);
  if (maps.length > 340) throw invalid(`invalid ${flag}: at most 340 ranges (the kernel's limit)`);
}

const fmt = (m: IDMapping) => `${m.containerID}:${m.hostID}:${m.size}`;

export function normalizeUserns(o: UsernsCreateOptions): UsernsHostConfig {
  const mode = o.userns ?? '';
  const uid = (o.uidmap ?? []).map((v) => parseIdMapping('--uidmap', v));
  const gid = (o.gidmap ?? []).map((v) => parseIdMapping('--gidmap', v));
  if (mode === '' || mode === 'host') {
    if (!uid.length && !gid.length) return { UsernsMode: mode };
    if (mode === 'host') throw invalid('--userns=host conflicts with --uidmap/--gidmap: drop one');
    const u = uid.length ? uid : gid;
    const g = gid.length ? gid : uid;
    checkMappings('--uidmap', u);
    checkMappings('--gidmap', g);
    needRoot('--uidmap/--gidmap');
    return { UsernsMode: 'private', UidMap: u, GidMap: g };
  }
  const size = autoSize(mode);
  if (size !== undefined) {
    if (uid.length || gid.length) throw invalid(`--userns=${mode} conflicts with --uidmap/--gidmap: drop one`);
    if (size < 1 || size > 1 << 24) throw invalid(`invalid --userns ${JSON.stringify(mode)}: size must be from 1 to ${1 << 24}`);
    needRoot('--userns=auto');
    return { UsernsMode: mode };
  }
  if (mode === 'keep-id' || mode.startsWith('keep-id:') || mode === 'nomap') {
    throw invalid(`--userns=${mode} is for rootless podman and is not supported by berth; use auto or --uidmap`);
  }
  throw invalid(`invalid --userns ${JSON.stringify(mode)}: use host, auto or auto:size=N`);
}

function needRoot(flag: string): void {
  if ((process.geteuid?.() ?? 0) !== 0) throw invalid(`${flag} needs berth to run as root`);
}
