// Pure logic of cp, health checks, block I/O flags, prune filters and restore decisions; and the
// in-root path resolver against a hostile tree of symlinks (no root needed).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { splitCpArg } from '../../src/cli/berth/copy-commands.js';
import { blockDeviceNumbers, blockIOOf, normalizeBlkio, parseThrottle } from '../../src/engine/blkio.js';
import { isEngineError } from '../../src/engine/errors.js';
import { effectiveHealth, mergeHealth, normalizeHealth } from '../../src/engine/health-config.js';
import { normalizeCreate } from '../../src/engine/options.js';
import { shouldRestore, MONITOR_GONE } from '../../src/engine/restore.js';
import { SafeRoot } from '../../src/engine/saferoot.js';
import { pruneFilter } from '../../src/engine/system.js';
import type { ContainerRecord } from '../../src/engine/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-unit-extras-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('blkio: docker sizes and iops, field-named errors', () => {
  assert.deepEqual(parseThrottle('--device-write-bps', '/dev/sda:1mb', true), { Path: '/dev/sda', Rate: 1048576 });
  assert.deepEqual(parseThrottle('--device-read-bps', '/dev/sda:512k', true), { Path: '/dev/sda', Rate: 524288 });
  assert.deepEqual(parseThrottle('--device-read-iops', '/dev/sda:1000', false), { Path: '/dev/sda', Rate: 1000 });
  assert.throws(() => parseThrottle('--device-read-iops', '/dev/sda:1k', false), /--device-read-iops.*Number must be a positive integer/);
  assert.throws(() => parseThrottle('--device-write-bps', '/dev/sda', true), /bad format/);
  assert.throws(() => parseThrottle('--device-write-bps', 'sda:1mb', true), /absolute path/);
  assert.throws(() => parseThrottle('--device-write-bps', '/dev/sda:12x', true), /invalid rate for device/);
  assert.throws(() => normalizeBlkio({ blkioWeight: 5 }), /Range of blkio weight is from 10 to 1000/);
  assert.throws(() => normalizeBlkio({ blkioWeightDevice: ['/dev/sda:2000'] }), /--blkio-weight-device/);
  assert.deepEqual(normalizeBlkio({ blkioWeight: 0, deviceWriteBps: [] }), {});
  const hc = normalizeBlkio({ blkioWeight: 300, blkioWeightDevice: ['/dev/sda:200'], deviceReadBps: ['/dev/sda:1mb'], deviceWriteIops: ['/dev/sda:10'] });
  const fake = () => ({ rdev: (8 << 8) | 16, isBlockDevice: () => true });
  assert.deepEqual(blockIOOf(hc, fake), {
    weight: 300, weightDevice: [{ major: 8, minor: 16, weight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 16, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 10 }],
  });
  assert.equal(blockIOOf({}), undefined);
  // big device numbers (major 259, minor 300000: dev_t's split encoding)
  const big = 259 * 256 + (300000 & 0xff) + ((300000 & ~0xff) << 12);
  assert.deepEqual(blockDeviceNumbers('/x', () => ({ rdev: big, isBlockDevice: () => true })), { major: 259, minor: 300000 });
  assert.throws(() => blockDeviceNumbers('/x', () => ({ rdev: 0, isBlockDevice: () => false })), /not a block device/);
  assert.throws(() => blockDeviceNumbers('/definitely/not/here'), /no such file or directory/);
  // through create's normalization: HostConfig fields as docker's
  const n = normalizeCreate({ rootfs: '/', deviceWriteBps: ['/dev/sda:5mb'] });
  assert.deepEqual(n.hostConfig.BlkioDeviceWriteBps, [{ Path: '/dev/sda', Rate: 5 * 1048576 }]);
});

test('health: flags, image merge, defaults', () => {
  assert.equal(normalizeHealth({}), undefined);
  assert.deepEqual(normalizeHealth({ noHealthcheck: true }), { Test: ['NONE'] });
  assert.throws(() => normalizeHealth({ noHealthcheck: true, healthCmd: 'x' }), /conflicts/);
  assert.deepEqual(normalizeHealth({ healthCmd: 'curl -f localhost', healthInterval: '1m30s', healthTimeout: '500ms', healthRetries: 2, healthStartPeriod: 2000 }), {
    Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 90e9, Timeout: 500e6, StartPeriod: 2e9, Retries: 2,
  });
  assert.deepEqual(normalizeHealth({ healthCmd: ['/bin/check', '-v'] })?.Test, ['CMD', '/bin/check', '-v']);
  assert.throws(() => normalizeHealth({ healthInterval: '10' }), /--health-interval.*time: missing unit in duration "10"/);
  assert.throws(() => normalizeHealth({ healthRetries: -1 }), /--health-retries cannot be negative/);
  assert.throws(() => normalizeHealth({ healthTimeout: '10us' }), /less than 1ms/);
  const img = { Test: ['CMD', 'true'], Interval: 5e9, Retries: 7 };
  assert.deepEqual(mergeHealth(undefined, img), img);
  assert.deepEqual(mergeHealth({ Test: ['NONE'] }, img), { Test: ['NONE'] });
  assert.deepEqual(mergeHealth({ Test: [], Interval: 1e9 }, img), { Test: ['CMD', 'true'], Interval: 1e9, Retries: 7 });
  assert.equal(effectiveHealth({ Test: ['NONE'] }), null);
  assert.equal(effectiveHealth(undefined), null);
  assert.deepEqual(effectiveHealth({ Test: ['CMD-SHELL', 'exit 1'] }), { test: ['/bin/sh', '-c', 'exit 1'], interval: 30e9, timeout: 30e9, startPeriod: 0, startInterval: 5e9, retries: 3 });
  const n = normalizeCreate({ rootfs: '/', healthCmd: 'true', healthInterval: '2s' });
  assert.deepEqual(n.config.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 2e9 });
});

test('cp: docker argument forms', () => {
  assert.deepEqual(splitCpArg('ctr:/etc/passwd'), { container: 'ctr', path: '/etc/passwd' });
  assert.deepEqual(splitCpArg('/host/a:b'), { path: '/host/a:b' });
  assert.deepEqual(splitCpArg('./x:y'), { path: './x:y' });
  assert.deepEqual(splitCpArg('-'), { path: '-' });
  assert.deepEqual(splitCpArg('file'), { path: 'file' });
  assert.deepEqual(splitCpArg('c:'), { container: 'c', path: '' });
});

test('SafeRoot: symlinks resolve inside the root, never out of it', () => {
  const root = join(tmp, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'a/b'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'inside\n');
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../../../../etc', join(root, 'a/b/rel'));
  symlinkSync('/abs/passwd', join(root, 'chain'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('/a/b/rel', join(root, 'dirlink'));
  const sr = SafeRoot.open(root);
  try {
    for (const p of ['/abs/passwd', 'a/b/rel/passwd', '/chain', '/../../etc/passwd', '/dirlink/./passwd']) {
      const r = sr.resolve(p, true);
      try {
        assert.equal(r.path, '/etc/passwd', p);
        assert.ok(r.stat?.isFile(), p);
        assert.equal(r.stat?.size, 7, `${p} resolved to the host's /etc/passwd`);
      } finally {
        r.close();
      }
    }
    const nofollow = sr.resolve('/chain', false);
    assert.ok(nofollow.stat?.isSymbolicLink());
    nofollow.close();
    const missing = sr.resolve('/abs/not-there', true);
    assert.equal(missing.stat, undefined);
    assert.equal(missing.path, '/etc/not-there');
    missing.close();
    const top = sr.resolve('/', true);
    assert.equal(top.name, '');
    assert.ok(top.stat?.isDirectory());
    top.close();
    assert.throws(() => sr.resolve('/loop1/x', true), (e: unknown) => isEngineError(e) && /too many levels/.test((e as Error).message));
    assert.throws(() => sr.resolve('/nope/x', true), (e: unknown) => isEngineError(e, 'notfound'));
    assert.throws(() => sr.resolve('/etc/passwd/x', true), /not a directory/);
  } finally {
    sr.close();
  }
});

test('prune filters: until and labels', () => {
  const keep = pruneFilter({ until: ['2020-01-01T00:00:00Z'], label: ['a=1'], 'label!': ['b'] });
  assert.equal(keep('2019-06-01T00:00:00.000000000Z', { a: '1' }), true);
  assert.equal(keep('2021-06-01T00:00:00.000000000Z', { a: '1' }), false);
  assert.equal(keep('2019-06-01T00:00:00.000000000Z', { a: '2' }), false);
  assert.equal(keep('2019-06-01T00:00:00.000000000Z', { a: '1', b: 'x' }), false);
  assert.throws(() => pruneFilter({ dangling: ['true'] }), /invalid filter 'dangling'/);
  assert.throws(() => pruneFilter({ until: ['yesterday'] }), /invalid filter 'until=yesterday'/);
});

test('restore: which restart policies start again after a reboot', () => {
  const rec = (policy: string, error: string, startedAt = '2026-01-01T00:00:00Z', state = 'exited') =>
    ({ state, error, startedAt, hostConfig: { RestartPolicy: { Name: policy, MaximumRetryCount: 0 } } }) as unknown as ContainerRecord;
  const gone = `${MONITOR_GONE} (killed, or the host restarted)`;
  assert.equal(shouldRestore(rec('always', gone)), true);
  assert.equal(shouldRestore(rec('always', '')), true, 'docker restarts always containers stopped by hand when it starts');
  assert.equal(shouldRestore(rec('always', '', '0001-01-01T00:00:00Z')), false, 'never started');
  assert.equal(shouldRestore(rec('unless-stopped', gone)), true);
  assert.equal(shouldRestore(rec('unless-stopped', '')), false, 'stopped by hand');
  assert.equal(shouldRestore(rec('on-failure', gone)), true);
  assert.equal(shouldRestore(rec('no', gone)), false);
  assert.equal(shouldRestore(rec('always', gone, undefined, 'running')), false);
});
