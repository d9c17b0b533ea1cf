// Disk quotas for a container's writable layer. Which one works is found at run time:
//   btrfs  - the storage root is on btrfs: the writable area is a subvolume with a qgroup limit
//            (EDQUOT at the limit; an overlay upperdir inside it is limited too)
//   xfs    - the storage root is on XFS mounted with prjquota: a project quota on the directory
//            (through xfs_quota; not testable on kernels without XFS quotas)
//   loop   - anywhere else: a sparse ext4 image, loop-mounted, is the writable area (ENOSPC at
//            the limit; needs mkfs.ext4 and loop devices; 20-50 ms to create)
// A request that none can serve fails with a QUOTA error that says what each lacked.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError, errnoCode } from '../errors.js';
import { run } from '../exec.js';
import { FS_MAGIC, fsType, mountOf, mountPoints } from '../fsutil.js';
import { unmount } from '../helper.js';

export type QuotaKind = 'btrfs' | 'xfs' | 'loop';

export type QuotaRecord =
  | { kind: 'btrfs'; bytes: number; subvolume: string }
  | { kind: 'xfs'; bytes: number; dir: string; projectId: number; mountPoint: string }
  | { kind: 'loop'; bytes: number; image: string; mountPoint: string };

export interface WritableArea {
  /** The directory to put the writable layer in (limited to record.bytes). */
  dir: string;
  record: QuotaRecord;
}

const which = (tool: string): boolean =>
  (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])
    .some((d) => d && existsSync(join(d, tool)));

/** The host facts the choice of a quota method rests on (a fake in unit tests). */
export interface QuotaProbe {
  /** statfs f_type of dir. */
  fsType(dir: string): number | undefined;
  /** The super options of the file system holding dir (e.g. "prjquota"), undefined when unknown. */
  superOptions(dir: string): string[] | undefined;
  /** Whether a tool is on PATH (or in /sbin, /usr/sbin). */
  have(tool: string): boolean;
  loopControl(): boolean;
  isRoot(): boolean;
}

export const hostQuotaProbe: QuotaProbe = {
  fsType: (dir) => fsType(dir),
  superOptions: (dir) => mountOf(dir)?.superOptions,
  have: which,
  loopControl: () => existsSync('/dev/loop-control'),
  isRoot: () => process.getuid?.() === 0,
};

/** What each quota method lacks for storage under `dir` (empty string: it works). */
export function quotaSupport(dir: string, probe: QuotaProbe = hostQuotaProbe): Record<QuotaKind, string> {
  const type = probe.fsType(dir);
  const btrfs = type !== FS_MAGIC.btrfs ? `${dir} is not on btrfs` : !probe.have('btrfs') ? 'the btrfs tool (btrfs-progs) is not installed' : '';
  let xfs = '';
  if (type !== FS_MAGIC.xfs) xfs = `${dir} is not on XFS`;
  else if (!(probe.superOptions(dir) ?? []).some((o) => o === 'prjquota' || o === 'pquota'))
    // a kernel without XFS quota support (CONFIG_XFS_QUOTA) cannot mount with prjquota at all
    xfs = `the XFS file system of ${dir} is not mounted with prjquota (mount it with -o prjquota; the kernel needs XFS quota support)`;
  else if (!probe.have('xfs_quota')) xfs = 'xfs_quota (xfsprogs) is not installed';
  let loop = '';
  if (!probe.have('mkfs.ext4')) loop = 'mkfs.ext4 (e2fsprogs) is not installed';
  else if (!probe.loopControl()) loop = 'no loop devices (/dev/loop-control is missing: modprobe loop)';
  else if (!probe.isRoot()) loop = 'loop mounts need root';
  return { btrfs, xfs, loop };
}

/** The method 'auto' picks for storage under dir, or a QUOTA error naming what each lacks. */
export function pickQuota(dir: string, want: 'auto' | QuotaKind = 'auto', probe: QuotaProbe = hostQuotaProbe): QuotaKind {
  const s = quotaSupport(dir, probe);
  const order: QuotaKind[] = want === 'auto' ? ['btrfs', 'xfs', 'loop'] : [want];
  for (const k of order) if (s[k] === '') return k;
  const why = order.map((k) => `${k}: ${s[k]}`).join('; ');
  throw new StorageError('QUOTA', `cannot limit the container's disk use here (${why}); put the storage root on btrfs or XFS with prjquota, or install e2fsprogs for loop-mounted ext4`);
}

/**
 * pickQuota + createWritableArea. With 'auto', an XFS project quota that fails to set up (quota
 * accounting off although mounted with prjquota) falls back to a loop-mounted ext4 area when
 * that works here; the error names both failures otherwise.
 */
export async function createLimitedArea(containerDir: string, bytes: number, want: 'auto' | QuotaKind = 'auto', extraBytes = 0, probe: QuotaProbe = hostQuotaProbe): Promise<WritableArea> {
  const kind = pickQuota(containerDir, want, probe);
  try {
    return await createWritableArea(containerDir, bytes, kind, extraBytes);
  } catch (e) {
    if (want !== 'auto' || kind !== 'xfs') throw e;
    rmSync(join(containerDir, 'fs'), { recursive: true, force: true });
    const loop = quotaSupport(containerDir, probe).loop;
    if (loop) throw new StorageError('QUOTA', `cannot limit the container's disk use here (xfs: ${(e as Error).message}; loop: ${loop})`, { cause: e });
    return createWritableArea(containerDir, bytes, 'loop', extraBytes);
  }
}

/** ext4 keeps some of the image for itself: the image is a little larger than the limit. */
export function loopImageBytes(limit: number): number {
  const raw = limit + Math.ceil(limit / 50) + (1 << 20);
  return Math.ceil(raw / 65536) * 65536;
}

async function btrfsEnsureQuota(path: string): Promise<void> {
  try {
    await run('btrfs', ['qgroup', 'show', path]);
  } catch {
    await run('btrfs', ['quota', 'enable', path]);
  }
}

/** Limits an existing btrfs subvolume (its exclusive usage: what the container wrote). */
export async function limitBtrfsSubvolume(subvolume: string, bytes: number): Promise<void> {
  await btrfsEnsureQuota(subvolume);
  await run('btrfs', ['qgroup', 'limit', '-e', String(bytes), subvolume]);
}

/**
 * Creates the limited writable area at `<containerDir>/fs`. extraBytes is added to the limit
 * (vfs: the copied image lives there too).
 */
export async function createWritableArea(containerDir: string, bytes: number, kind: QuotaKind, extraBytes = 0): Promise<WritableArea> {
  if (!Number.isSafeInteger(bytes) || bytes < 1 << 20) throw new StorageError('FORMAT', `size limit ${bytes}: must be at least 1 MiB`);
  const dir = join(containerDir, 'fs');
  const total = bytes + extraBytes;
  switch (kind) {
    case 'btrfs': {
      await run('btrfs', ['subvolume', 'create', dir]);
      try {
        await limitBtrfsSubvolume(dir, total);
      } catch (e) {
        await run('btrfs', ['subvolume', 'delete', dir]).catch(() => {});
        throw e;
      }
      return { dir, record: { kind, bytes, subvolume: dir } };
    }
    case 'xfs': {
      const m = mountOf(containerDir);
      if (!m) throw new StorageError('QUOTA', `no mount found for ${containerDir}`);
      mkdirSync(dir, { mode: 0o700 });
      // a project id from the directory name: stable, and spread over 2^31 ids
      const projectId = (createHash('sha256').update(dir).digest().readUInt32BE(0) & 0x7ffffffe) + 1;
      await run('xfs_quota', ['-x', '-c', `project -s -p ${dir} ${projectId}`, m.mountPoint]);
      await run('xfs_quota', ['-x', '-c', `limit -p bhard=${total} ${projectId}`, m.mountPoint]);
      return { dir, record: { kind, bytes, dir, projectId, mountPoint: m.mountPoint } };
    }
    case 'loop': {
      const image = join(containerDir, 'fs.img');
      const fd = openSync(image, 'wx', 0o600);
      try {
        ftruncateSync(fd, loopImageBytes(total)); // sparse: costs nothing until written
      } finally {
        closeSync(fd);
      }
      mkdirSync(dir, { mode: 0o700 });
      try {
        await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-b', '4096', '-O', '^has_journal', '-E', 'nodiscard,root_owner=0:0', image]);
        // util-linux sets up the loop device with autoclear: unmounting releases it
        await run('mount', ['-o', 'loop', '-t', 'ext4', image, dir]);
      } catch (e) {
        rmSync(image, { force: true });
        throw e;
      }
      return { dir, record: { kind, bytes, image, mountPoint: dir } };
    }
  }
}

async function detachLoops(image: string): Promise<void> {
  const { stdout } = await run('losetup', ['-j', image]).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const dev = line.split(':')[0];
    if (dev?.startsWith('/dev/loop')) await run('losetup', ['-d', dev]).catch(() => {});
  }
}

/** Undoes createWritableArea (the caller removes the container directory afterwards). */
export async function destroyWritableArea(record: QuotaRecord): Promise<void> {
  switch (record.kind) {
    case 'btrfs':
      if (existsSync(record.subvolume)) await run('btrfs', ['subvolume', 'delete', record.subvolume]);
      return;
    case 'xfs':
      await run('xfs_quota', ['-x', '-c', `limit -p bhard=0 ${record.projectId}`, record.mountPoint]).catch(() => {});
      return;
    case 'loop':
      if (mountPoints().has(record.mountPoint)) {
        try {
          await unmount(record.mountPoint);
        } catch (e) {
          if (errnoCode(e) !== 'EINVAL') await unmount(record.mountPoint, true);
        }
      }
      await detachLoops(record.image);
      rmSync(record.image, { force: true });
      return;
  }
}

/** Mounts a loop area again (after a reboot). */
export async function remountWritableArea(record: QuotaRecord): Promise<void> {
  if (record.kind === 'loop' && !mountPoints().has(record.mountPoint)) await run('mount', ['-o', 'loop', '-t', 'ext4', record.image, record.mountPoint]);
}
