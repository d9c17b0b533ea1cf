// Writing a value into a cgroup file, with an error that names the OCI field, the file, the
// value and what the kernel's errno means there.
import { CgroupError, errnoOf, type WarningSink } from './errors.js';
import type { HostFs } from './hostfs.js';

/** What a controller module needs to apply its part of linux.resources. */
export interface ApplyCtx {
  fs: HostFs;
  /** The container's directory in the hierarchy being written (host path). */
  dir: string;
  warn: WarningSink;
  /** update(): values combine with the ones in force. */
  update: boolean;
  /**
   * create() of a directory this manager just made: every file holds the kernel's default, so
   * nothing needs reading first (saves a read per limit on the container start path).
   */
  fresh?: boolean;
}

const MEANING: Record<string, string> = {
  ENOENT: 'the file does not exist: this kernel or controller does not support the setting',
  EINVAL: 'the kernel rejected the value (out of range or inconsistent with another limit)',
  EBUSY: 'the cgroup is busy (for a limit: usage is above it and cannot be reclaimed)',
  EPERM: 'not permitted (the parent cgroup does not allow it, or a capability is missing)',
  EACCES: 'permission denied',
  ENOSPC: 'no space (e.g. cpuset: cpus/mems empty; or the parent has no budget left)',
  EROFS: 'the cgroup file system is mounted read-only',
};

export function writeError(fs: HostFs, path: string, value: string, field: string, e: unknown, hint?: string): CgroupError {
  const code = errnoOf(e) || 'error';
  const why = hint ?? MEANING[code] ?? (e as Error).message;
  return new CgroupError(`writing "${value.trim()}" to ${fs.real(path)} failed (${code}): ${why}`, field, { cause: e });
}

/** Write `value` to `<ctx.dir>/<file>`; throw a CgroupError naming `field` on failure. */
export function put(ctx: ApplyCtx, file: string, value: string | number, field: string, hints?: Record<string, string>): void {
  const path = `${ctx.dir}/${file}`;
  const text = String(value);
  try {
    ctx.fs.write(path, text);
  } catch (e) {
    throw writeError(ctx.fs, path, text, field, e, hints?.[errnoOf(e)]);
  }
}

export function has(ctx: ApplyCtx, file: string): boolean {
  return ctx.fs.exists(`${ctx.dir}/${file}`);
}

export function get(ctx: ApplyCtx, file: string): string | undefined {
  return ctx.fs.tryRead(`${ctx.dir}/${file}`);
}
