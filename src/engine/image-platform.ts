// `--platform` of run/create: which platform the user asked for, whether a stored image serves
// it, and docker's warning when the image to run is not for this host (it then runs only through
// binfmt emulation, if at all).
import { ImageError } from '../image/errors.js';
import { configPlatform } from '../image/manifest.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from '../image/platform.js';
import type { ImageConfig, Platform } from '../image/types.js';
import { invalid } from './errors.js';

/** The --platform flag, validated ("os/arch[/variant]"); undefined when not given. */
export function requestedPlatform(flag: string | undefined): Platform | undefined {
  if (flag === undefined || flag === '') return undefined;
  try {
    return parsePlatform(flag);
  } catch (e) {
    if (e instanceof ImageError) throw invalid(`--platform: ${e.message}`);
    throw e;
  }
}

/** docker's refusal when a stored image is for another platform than the requested one (with --pull never). */
export function platformMismatch(name: string, config: ImageConfig, want: Platform): string | undefined {
  const have = configPlatform(config);
  if (platformMatches(want, have)) return undefined;
  return `image with reference ${name} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`;
}

/** docker's warning for an image that is not for this host; undefined when it is. */
export function platformWarning(config: ImageConfig, requested: Platform | undefined, host: Platform = hostPlatform()): string | undefined {
  const have = configPlatform(config);
  if (platformMatches(host, have)) return undefined;
  return `The requested image's platform (${formatPlatform(have)}) does not match the detected host platform (${formatPlatform(host)})${requested ? '' : ' and no specific platform was requested'}`;
}

/** The embedded `host` image is the host itself: another platform cannot be served from it. */
export function hostImageMismatch(want: Platform, host: Platform = hostPlatform()): string | undefined {
  if (platformMatches(want, host)) return undefined;
  return `image with reference host was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(host)} (the embedded image is the host's own file system)`;
}
