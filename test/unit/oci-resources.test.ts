// berth-oci update/events logic without containers: runc's size and duration syntax, update
// deltas and merging, and runc-shaped stats from fake cgroup v1 and v2 trees.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDuration, parseSize, updateRequest } from '../../src/cli/oci/cgroup-commands.js';
import { mergeResources, updateDelta } from '../../src/runtime/resources.js';
import { statsJson, statsV1, statsV2 } from '../../src/runtime/stats.js';

const MiB = 1024 * 1024;
const tmp = mkdtempSync(join(tmpdir(), 'berth-unit-res-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tree(dir: string, files: Record<string, string>): string {
  const d = join(tmp, dir);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

describe('update flags', () => {
  test('sizes as runc reads them (go-units RAMInBytes)', () => {
    assert.equal(parseSize('64m', 'memory'), 64 * MiB);
    assert.equal(parseSize('64MB', 'memory'), 64 * MiB);
    assert.equal(parseSize('512KiB', 'memory'), 512 * 1024);
    assert.equal(parseSize('1.5g', 'memory'), 1.5 * 1024 * MiB);
    assert.equal(parseSize('1048576', 'memory'), MiB);
    assert.equal(parseSize('-1', 'memory-swap'), -1);
    assert.throws(() => parseSize('-5', 'memory'), /invalid value for --memory: invalid size: '-5'/);
    assert.throws(() => parseSize('12q', 'memory'), /invalid size: '12q'/);
    assert.throws(() => parseSize('', 'memory'), /invalid size/);
  });

  test('durations as Go reads them', () => {
    assert.equal(parseDuration('5s', 'interval'), 5000);
    assert.equal(parseDuration('250ms', 'interval'), 250);
    assert.equal(parseDuration('1m30s', 'interval'), 90000);
    assert.equal(parseDuration('1.5s', 'interval'), 1500);
    assert.throws(() => parseDuration('0s', 'interval'), /greater than 0/);
    assert.throws(() => parseDuration('5', 'interval'), /invalid duration "5"/);
    assert.throws(() => parseDuration('fast', 'interval'), /invalid duration/);
  });

  test('flags become a LinuxResources; integers are checked', async () => {
    const r = await updateRequest({ memory: '64m', 'memory-swap': '-1', 'cpu-share': '512', 'cpu-quota': '-1', 'cpuset-cpus': '0', 'pids-limit': '20', 'blkio-weight': '300' });
    assert.deepEqual(r, { memory: { limit: 64 * MiB, swap: -1 }, cpu: { shares: 512, quota: -1, cpus: '0' }, pids: { limit: 20 }, blockIO: { weight: 300 } });
    assert.deepEqual(await updateRequest({ 'cpu-shares': '1024' }), { cpu: { shares: 1024 } });
    await assert.rejects(updateRequest({ 'cpu-period': '-5' }), /invalid value for --cpu-period: "-5" is not a non-negative integer/);
    await assert.rejects(updateRequest({ 'l3-cache-schema': 'L3:0=f' }), /Intel RDT is not supported/);
  });

  test('--resources FILE is validated naming the field', async () => {
    const f = join(tmp, 'r.json');
    writeFileSync(f, JSON.stringify({ memory: { limit: 64 * MiB }, cpu: { cpus: '0' } }));
    assert.deepEqual(await updateRequest({ resources: f, memory: '1g' }), { memory: { limit: 64 * MiB }, cpu: { cpus: '0' } });
    writeFileSync(f, JSON.stringify({ cpu: { quota: 'half' } }));
    await assert.rejects(updateRequest({ resources: f }), /r\.json: linux\.resources\.cpu\.quota: /);
    writeFileSync(f, '[1]');
    await assert.rejects(updateRequest({ resources: f }), /must be a JSON object/);
    writeFileSync(f, '{"memory":');
    await assert.rejects(updateRequest({ resources: f }), /invalid JSON/);
  });
});

describe('update deltas', () => {
  test('0 and "" mean unchanged (runc); the rest merges into what is in force', () => {
    const d = updateDelta({ memory: { limit: 0, swap: 128 * MiB, reservation: 0 }, cpu: { shares: 0, quota: 20000, cpus: '' }, pids: { limit: 0 }, blockIO: { weight: 0 } });
    assert.deepEqual(d, { memory: { swap: 128 * MiB }, cpu: { quota: 20000 } });
    const merged = mergeResources({ memory: { limit: 64 * MiB }, cpu: { period: 100000 }, devices: [{ allow: false, access: 'rwm' }] }, d);
    assert.deepEqual(merged, { memory: { limit: 64 * MiB, swap: 128 * MiB }, cpu: { period: 100000, quota: 20000 }, devices: [{ allow: false, access: 'rwm' }] });
  });

  test('throttles merge per device; rate 0 removes a device', () => {
    const old = { blockIO: { weight: 100, throttleWriteBpsDevice: [{ major: 7, minor: 0, rate: 5 }, { major: 7, minor: 1, rate: 6 }] } };
    const d = updateDelta({ blockIO: { throttleWriteBpsDevice: [{ major: 7, minor: 0, rate: 0 }, { major: 8, minor: 0, rate: 9 }], throttleReadBpsDevice: [] } });
    assert.deepEqual(mergeResources(old, d), {
      blockIO: { weight: 100, throttleWriteBpsDevice: [{ major: 7, minor: 1, rate: 6 }, { major: 8, minor: 0, rate: 9 }] },
    });
  });
});

describe('stats in runc shape', () => {
  test('cgroup v2 files', () => {
    const dir = tree('v2', {
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 20\n',
      'memory.current': '4096\n',
      'memory.max': 'max\n',
      'memory.peak': '8192\n',
      'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
      'memory.swap.current': '0\n',
      'memory.swap.max': 'max\n',
      'memory.stat': 'anon 4096\nfile 100\n',
      'pids.current': '3\n',
      'pids.max': '16\n',
      'io.stat': '7:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n',
      'cpuset.cpus.effective': '0-1\n',
      'cpuset.mems.effective': '0\n',
    });
    const s = statsV2(dir);
    assert.deepEqual(s.cpu, { usage: { total: 1500000, percpu: undefined, percpu_kernel: undefined, percpu_user: undefined, kernel: 500000, user: 1000000 }, throttling: { periods: 10, throttledPeriods: 4, throttledTime: 20000 } });
    assert.deepEqual(s.memory.usage, { limit: 2n ** 64n - 1n, usage: 4096, max: 8192, failcnt: 3 });
    assert.equal(s.memory.swap.limit, 2n ** 64n - 1n);
    assert.equal(s.memory.cache, 100);
    assert.deepEqual(s.pids, { current: 3, limit: 16 });
    assert.deepEqual(s.cpuset, { cpus: [0, 1], mems: [0] });
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [{ major: 7, minor: 0, op: 'Read', value: 10 }, { major: 7, minor: 0, op: 'Write', value: 20 }]);
    const json = statsJson({ type: 'stats', id: 'x', data: s });
    assert.match(json, /"usage":\{"limit":18446744073709551615,"usage":4096,"max":8192,"failcnt":3\}/);
    assert.doesNotMatch(json, /\n/);
    assert.equal((JSON.parse(json) as { data: { pids: { current: number } } }).data.pids.current, 3);
  });

  test('cgroup v1 files, v1 "unlimited" printed exactly', () => {
    const mem = tree('v1/memory', {
      'memory.usage_in_bytes': '1000\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.max_usage_in_bytes': '2000\n',
      'memory.failcnt': '5\n',
      'memory.memsw.usage_in_bytes': '1000\n',
      'memory.memsw.limit_in_bytes': '33554432\n',
      'memory.memsw.max_usage_in_bytes': '2000\n',
      'memory.memsw.failcnt': '0\n',
      'memory.stat': 'cache 12\nrss 34\n',
    });
    const acct = tree('v1/cpuacct', {
      'cpuacct.usage': '300\n',
      'cpuacct.usage_percpu': '100 200 \n',
      'cpuacct.usage_all': 'cpu user system\n0 60 40\n1 150 50\n',
      'cpuacct.stat': 'user 2\nsystem 1\n',
    });
    const cpu = tree('v1/cpu', { 'cpu.stat': 'nr_periods 7\nnr_throttled 3\nthrottled_time 999\n' });
    const pids = tree('v1/pids', { 'pids.current': '2\n', 'pids.max': 'max\n' });
    const blkio = tree('v1/blkio', { 'blkio.throttle.io_service_bytes_recursive': '7:0 Read 0\n7:0 Write 4096\n7:0 Sync 4096\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 4096\nTotal 4096\n' });
    const s = statsV1({ memory: mem, cpuacct: acct, cpu, pids, blkio });
    assert.deepEqual(s.cpu.usage, { total: 300, percpu: [100, 200], percpu_kernel: [40, 50], percpu_user: [60, 150], kernel: 10000000, user: 20000000 });
    assert.deepEqual(s.cpu.throttling, { periods: 7, throttledPeriods: 3, throttledTime: 999 });
    assert.deepEqual(s.memory.usage, { limit: 9223372036854771712n, usage: 1000, max: 2000, failcnt: 5 });
    assert.deepEqual(s.memory.swap, { limit: 33554432, usage: 1000, max: 2000, failcnt: 0 });
    assert.equal(s.memory.cache, 12);
    assert.deepEqual(s.pids, { current: 2, limit: 0 });
    assert.equal(s.blkio.ioServiceBytesRecursive.length, 6);
    assert.deepEqual(s.blkio.ioServiceBytesRecursive[1], { major: 7, minor: 0, op: 'Write', value: 4096 });
    assert.match(statsJson(s), /"limit":9223372036854771712,/);
  });
});
