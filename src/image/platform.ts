// Platforms (os/architecture/variant): this host's, parsing "--platform linux/arm64/v8", and
// normalisation as containerd does (aarch64 -> arm64, x86_64 -> amd64, armhf -> arm/v7, ...).
import type { Platform } from './types.js';
import { ImageError } from './errors.js';

/** Normalises names so that equal platforms compare equal. arm64's "v8" variant is dropped. */
export function normalizePlatform(p: Platform): Platform {
  let os = (p.os || 'linux').toLowerCase();
  if (os === 'macos') os = 'darwin';
  let architecture = (p.architecture || '').toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  switch (architecture) {
    case 'i386':
    case 'i686':
      architecture = '386';
      variant = undefined;
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = undefined;
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8') variant = undefined;
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === undefined) variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** The platform of this host, in OCI names. */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = {
    x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x',
    riscv64: 'riscv64', mips64el: 'mips64le', loong64: 'loong64',
  };
  const architecture = archMap[process.arch] ?? process.arch;
  const p: Platform = { os: process.platform === 'linux' ? 'linux' : process.platform, architecture };
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>)['arm_version'];
    p.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  return normalizePlatform(p);
}

/** Parses "os/arch[/variant]" or "arch" (os linux); throws naming the expected form. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.some((x) => x === '' || !/^[A-Za-z0-9_.-]+$/.test(x)) || parts.length > 3) {
    throw new ImageError(`invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`, 'invalid_platform');
  }
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return normalizePlatform(p);
}

export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return `${n.os}/${n.architecture}${n.variant ? `/${n.variant}` : ''}`;
}

/**
 * How well `have` serves `want`: 0 is an exact match, higher is a worse fallback (arm/v7 runs
 * v6 and v5 images), undefined is no match.
 */
export function platformRank(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  if (w.variant === h.variant) return 0;
  if (w.architecture === 'arm' && w.variant && h.variant) {
    const wv = Number(w.variant.slice(1));
    const hv = Number(h.variant.slice(1));
    if (hv < wv) return wv - hv;
    return undefined;
  }
  // a manifest that names no variant serves any variant of its architecture
  if (h.variant === undefined) return 1;
  return undefined;
}

export function platformMatches(want: Platform, have: Platform): boolean {
  return platformRank(want, have) !== undefined;
}
