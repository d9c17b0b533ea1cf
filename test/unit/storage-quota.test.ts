// The choice of a disk quota method for --storage-opt size= against a fake host (QuotaProbe):
// btrfs first, XFS project quotas only where the file system is mounted with prjquota (this
// kernel cannot: no XFS quota support), loop-mounted ext4 as the fallback, and a QUOTA error
// naming what each method lacks when none works. Also the fallback from a failing XFS setup.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/storage/errors.js';
import { FS_MAGIC } from '../../src/storage/fsutil.js';
import { createLimitedArea, pickQuota, quotaSupport, type QuotaProbe } from '../../src/storage/quota/index.js';

interface Host {
  fs: number;
  options?: string[];
  tools?: string[];
  loop?: boolean;
  root?: boolean;
}

function fake(h: Host): QuotaProbe {
  const tools = new Set(h.tools ?? ['btrfs', 'xfs_quota', 'mkfs.ext4']);
  return {
    fsType: () => h.fs,
    superOptions: () => h.options,
    have: (t) => tools.has(t),
    loopControl: () => h.loop ?? true,
    isRoot: () => h.root ?? true,
  };
}

const quotaError = (re: RegExp) => (e: unknown) => e instanceof StorageError && e.code === 'QUOTA' && re.test(e.message);

describe('quota selection', () => {
  it('btrfs wins on btrfs', () => {
    assert.equal(pickQuota('/s', 'auto', fake({ fs: FS_MAGIC.btrfs })), 'btrfs');
  });

  it('btrfs without btrfs-progs falls back to loop, or says what is missing', () => {
    const p = fake({ fs: FS_MAGIC.btrfs, tools: ['mkfs.ext4'] });
    assert.equal(pickQuota('/s', 'auto', p), 'loop');
    assert.throws(() => pickQuota('/s', 'btrfs', p), quotaError(/btrfs: the btrfs tool \(btrfs-progs\) is not installed/));
  });

  it('XFS mounted with prjquota (or pquota) and xfs_quota: project quotas', () => {
    assert.equal(pickQuota('/s', 'auto', fake({ fs: FS_MAGIC.xfs, options: ['rw', 'attr2', 'prjquota'] })), 'xfs');
    assert.equal(pickQuota('/s', 'auto', fake({ fs: FS_MAGIC.xfs, options: ['pquota'] })), 'xfs');
  });

  it('XFS without prjquota (a kernel without XFS quotas, like this one): loop, and a clear reason for xfs', () => {
    const p = fake({ fs: FS_MAGIC.xfs, options: ['rw', 'attr2', 'noquota'] });
    assert.equal(pickQuota('/s', 'auto', p), 'loop');
    assert.match(quotaSupport('/s', p).xfs, /not mounted with prjquota \(mount it with -o prjquota; the kernel needs XFS quota support\)/);
    assert.throws(() => pickQuota('/s', 'xfs', p), quotaError(/^cannot limit the container's disk use here \(xfs: the XFS file system of \/s is not mounted with prjquota/));
  });

  it('XFS with prjquota but no xfsprogs: loop', () => {
    const p = fake({ fs: FS_MAGIC.xfs, options: ['prjquota'], tools: ['mkfs.ext4'] });
    assert.equal(pickQuota('/s', 'auto', p), 'loop');
    assert.equal(quotaSupport('/s', p).xfs, 'xfs_quota (xfsprogs) is not installed');
  });

  it('ext4 (this host): loop', () => {
    assert.equal(pickQuota('/s', 'auto', fake({ fs: FS_MAGIC.ext4 })), 'loop');
  });

  it('nothing works: one QUOTA error naming what each method lacks and the fixes', () => {
    const p = fake({ fs: FS_MAGIC.ext4, tools: [], loop: true });
    assert.throws(() => pickQuota('/s', 'auto', p), quotaError(
      /^cannot limit the container's disk use here \(btrfs: \/s is not on btrfs; xfs: \/s is not on XFS; loop: mkfs\.ext4 \(e2fsprogs\) is not installed\); put the storage root on btrfs or XFS with prjquota, or install e2fsprogs/,
    ));
    assert.match(quotaSupport('/s', fake({ fs: FS_MAGIC.ext4, loop: false })).loop, /no loop devices/);
    assert.equal(quotaSupport('/s', fake({ fs: FS_MAGIC.ext4, root: false })).loop, 'loop mounts need root');
  });

  it('an XFS setup that fails (no xfs_quota can run): with loop unavailable the error names both', async () => {
    const d = mkdtempSync(join(tmpdir(), 'berth-quota-'));
    try {
      // the probe claims XFS + prjquota; the real xfs_quota call then fails on this host (not XFS)
      const p = fake({ fs: FS_MAGIC.xfs, options: ['prjquota'], loop: false });
      await assert.rejects(createLimitedArea(d, 16 << 20, 'auto', 0, p), quotaError(/^cannot limit the container's disk use here \(xfs: .*; loop: no loop devices/));
      await assert.rejects(createLimitedArea(d, 16 << 20, 'xfs', 0, p), (e: unknown) => !(e instanceof StorageError && /loop:/.test(e.message)), 'an explicit xfs does not fall back');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
