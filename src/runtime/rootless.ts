// Rootless containers: what an unprivileged caller may map into a new user namespace, and how
// the maps get written. The kernel lets an unprivileged process write one line mapping its own
// id (and, for gid_map, only after denying setgroups); anything else goes through the setuid
// helpers newuidmap/newgidmap (package uidmap), which allow the ranges /etc/subuid and
// /etc/subgid delegate to the user.
import { accessSync, constants as fsc, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDMapping, Spec } from '../spec/types.js';
import { RuntimeError } from './errors.js';

export interface SubIdRange {
  start: number;
  count: number;
}

/** The ranges of an /etc/subuid or /etc/subgid text delegated to a user (by name or number). */
export function parseSubIds(text: string, user: string | undefined, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== String(id) && (user === undefined || who !== user)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

export interface IdmapTools {
  uid?: string;
  gid?: string;
  setgroupsDeny: boolean;
}

export interface RootlessHost {
  euid: number;
  egid: number;
  /** The caller's user name (for /etc/subuid lines that name it). */
  user?: string;
  /** Contents of /etc/subuid and /etc/subgid ('' when absent). */
  subuid: string;
  subgid: string;
  /** Path of an executable, or undefined. */
  findTool(name: string): string | undefined;
}

const selfOnly = (maps: readonly IDMapping[], id: number) => maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;

function checkRanges(maps: readonly IDMapping[], key: string, own: number, ranges: SubIdRange[], file: string, who: string): void {
  maps.forEach((m, i) => {
    const end = m.hostID + m.size; // exclusive
    if (m.hostID === own && m.size === 1) return;
    if (ranges.some((r) => m.hostID >= r.start && end <= r.start + r.count)) return;
    const have = ranges.length ? ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') : 'none';
    throw new RuntimeError(
      `config.json: linux.${key}[${i}]: host ids ${m.hostID}-${end - 1} are not delegated to ${who}: ` +
        `an unprivileged user may map its own id (${own}) and the ranges ${file} gives it (${have})`,
    );
  });
}

/**
 * How to write the id maps of a new user namespace for this caller: undefined for root (it
 * writes /proc/<pid>/{uid,gid}_map itself), else whether newuidmap/newgidmap are needed and
 * whether setgroups must be denied. Throws a RuntimeError for maps the caller may not use.
 */
export function planRootlessIdMaps(spec: Spec, host: RootlessHost): IdmapTools | undefined {
  if (host.euid === 0) return undefined;
  const userns = spec.linux?.namespaces?.find((n) => n.type === 'user');
  if (!userns || userns.path) return undefined;
  const uid = spec.linux?.uidMappings ?? [];
  const gid = spec.linux?.gidMappings ?? [];
  const who = (what: string, id: number) => `${host.user ? `user ${host.user} ` : ''}(${what} ${id})`;
  const tools: IdmapTools = { setgroupsDeny: false };
  if (!selfOnly(uid, host.euid)) {
    checkRanges(uid, 'uidMappings', host.euid, parseSubIds(host.subuid, host.user, host.euid), '/etc/subuid', who('uid', host.euid));
    tools.uid = host.findTool('newuidmap');
    if (!tools.uid) throw new RuntimeError('linux.uidMappings maps more than your own uid: that needs newuidmap (install the "uidmap" package), or map only your uid');
  }
  if (!selfOnly(gid, host.egid)) {
    checkRanges(gid, 'gidMappings', host.egid, parseSubIds(host.subgid, host.user, host.euid), '/etc/subgid', who('gid', host.egid));
    tools.gid = host.findTool('newgidmap');
    if (!tools.gid) throw new RuntimeError('linux.gidMappings maps more than your own gid: that needs newgidmap (install the "uidmap" package), or map only your gid');
  } else {
    // the kernel accepts an unprivileged gid_map only once setgroups is denied
    tools.setgroupsDeny = true;
  }
  return tools;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function userName(uid: number): string | undefined {
  for (const line of readOr('/etc/passwd').split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && Number(f[2]) === uid) return f[0];
  }
  return undefined;
}

function findTool(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const d of [...dirs, '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const p = join(d, name);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** This process as a rootless host. */
export function thisHost(): RootlessHost {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  const user = userName(euid);
  return { euid, egid, ...(user ? { user } : {}), subuid: readOr('/etc/subuid'), subgid: readOr('/etc/subgid'), findTool };
}

/** Whether a cgroup error is the host refusing an unprivileged caller (not delegated). */
export function isCgroupPermissionError(e: unknown): boolean {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    const code = (c as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
  }
  return false;
}
