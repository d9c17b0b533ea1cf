// Health check configuration: docker's --health-* flags (and the image's Healthcheck) into
// Config.Healthcheck, validated where they enter. Durations are nanoseconds, as in docker.
import { invalid } from './errors.js';
import { parseDuration } from './time.js';

export interface HealthConfig {
  /** [] inherit the image's; ["NONE"] disabled; ["CMD", ...args]; ["CMD-SHELL", "cmd"]. */
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HealthOptions {
  /** --health-cmd: a shell command (CMD-SHELL), or an argv (CMD). */
  healthCmd?: string | string[];
  /** Go durations ("30s", "1m30s") or milliseconds. */
  healthInterval?: string | number;
  healthTimeout?: string | number;
  healthStartPeriod?: string | number;
  healthStartInterval?: string | number;
  healthRetries?: number;
  /** Disable any container-specified HEALTHCHECK (the image's too). */
  noHealthcheck?: boolean;
}

/** What Go's time.ParseDuration says about a value it refuses (docker prints it). */
function goDurationError(v: string): string {
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)$/.test(v)) return `time: missing unit in duration "${v}"`;
  const unit = /^[-+]?(?:\d+\.?\d*|\.\d+)([^\d.]+)$/.exec(v)?.[1];
  if (unit !== undefined) return `time: unknown unit "${unit}" in duration "${v}"`;
  return `time: invalid duration "${v}"`;
}

/** docker's defaults. */
export const HEALTH_DEFAULTS = { interval: 30e9, timeout: 30e9, startPeriod: 0, startInterval: 5e9, retries: 3 };

function duration(flag: string, v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  let ns: number;
  if (typeof v === 'number') ns = Math.round(v * 1e6);
  else {
    const d = v === '0' ? 0n : parseDuration(v);
    if (d === null) throw invalid(`invalid argument "${v}" for "${flag}" flag: ${goDurationError(v)} (use a Go duration such as 30s or 1m30s)`);
    ns = Number(d);
  }
  if (ns < 0) throw invalid(`${flag} cannot be negative`);
  if (ns !== 0 && ns < 1e6) throw invalid(`${flag} cannot be less than 1ms`);
  return ns;
}

/** The Healthcheck of the flags (undefined: none given, the image's applies). */
export function normalizeHealth(o: HealthOptions): HealthConfig | undefined {
  const given = o.healthCmd !== undefined || o.healthInterval !== undefined || o.healthTimeout !== undefined || o.healthStartPeriod !== undefined || o.healthStartInterval !== undefined || o.healthRetries !== undefined;
  if (o.noHealthcheck) {
    if (given) throw invalid('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!given) return undefined;
  const hc: HealthConfig = { Test: [] };
  if (o.healthCmd !== undefined) {
    if (Array.isArray(o.healthCmd)) {
      if (!o.healthCmd.length || o.healthCmd.some((a) => typeof a !== 'string')) throw invalid('healthCmd: an argv of strings with at least the program');
      hc.Test = ['CMD', ...o.healthCmd];
    } else if (o.healthCmd.trim()) hc.Test = ['CMD-SHELL', o.healthCmd];
    else throw invalid('--health-cmd cannot be empty (use --no-healthcheck to disable the image\'s check)');
  }
  const set = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval', flag: string, v: string | number | undefined) => {
    const ns = duration(flag, v);
    if (ns !== undefined) hc[k] = ns;
  };
  set('Interval', '--health-interval', o.healthInterval);
  set('Timeout', '--health-timeout', o.healthTimeout);
  set('StartPeriod', '--health-start-period', o.healthStartPeriod);
  set('StartInterval', '--health-start-interval', o.healthStartInterval);
  if (o.healthRetries !== undefined) {
    if (!Number.isInteger(o.healthRetries) || o.healthRetries < 0) throw invalid('--health-retries cannot be negative');
    hc.Retries = o.healthRetries;
  }
  return hc;
}

/** docker's merge: the container's fields win, unset ones come from the image's. */
export function mergeHealth(own: HealthConfig | undefined, image: Partial<HealthConfig> | undefined): HealthConfig | undefined {
  if (!image?.Test?.length) return own;
  if (!own) return { ...image, Test: image.Test } as HealthConfig;
  if (own.Test[0] === 'NONE') return own;
  const out: HealthConfig = { ...own, Test: own.Test.length ? own.Test : image.Test };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!out[k] && image[k]) out[k] = image[k];
  }
  return out;
}

/** The effective check (defaults filled), or null when the container has none. */
export function effectiveHealth(hc: HealthConfig | undefined): { test: string[]; interval: number; timeout: number; startPeriod: number; startInterval: number; retries: number } | null {
  if (!hc || !hc.Test.length || hc.Test[0] === 'NONE') return null;
  const test = hc.Test[0] === 'CMD' ? hc.Test.slice(1) : hc.Test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', hc.Test.slice(1).join(' ')] : hc.Test;
  if (!test.length) return null;
  return {
    test,
    interval: hc.Interval || HEALTH_DEFAULTS.interval,
    timeout: hc.Timeout || HEALTH_DEFAULTS.timeout,
    startPeriod: hc.StartPeriod || HEALTH_DEFAULTS.startPeriod,
    startInterval: hc.StartInterval || HEALTH_DEFAULTS.startInterval,
    retries: hc.Retries || HEALTH_DEFAULTS.retries,
  };
}
