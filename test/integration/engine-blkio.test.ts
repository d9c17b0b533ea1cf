// Block I/O limits (root): --device-write-bps on a loop device (a sparse file, removed at the end)
// slows direct writes to about the limit; the cgroup files and inspect show the settings; bad
// values are refused before anything is created. Through the CLI and the library.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { attachLoop, detachLoop } from '../helpers/loop-device.js';

const t = testBerth('blkio');
let lib: Berth;
let loop = '';
let mm = '';

before(() => {
  ({ path: loop, majMin: mm } = attachLoop(t.dir, '128M'));
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});

after(() => {
  lib.close();
  try {
    if (loop) detachLoop(loop);
  } finally {
    t.cleanup();
  }
});

/** MiB/s from dd's summary ("15728640 bytes (16 MB, 15 MiB) copied, 3.00345 s, 5.2 MB/s"). */
function ddRate(stderr: string): number {
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(stderr);
  assert.ok(m, `no dd summary in: ${stderr}`);
  return Number(m[1]) / 1048576 / Number(m[2]);
}

describe('block I/O limits', () => {
  test('--device-write-bps 5mb holds direct writes to about 5 MiB/s', () => {
    const dd = ['host', 'dd', 'if=/dev/zero', 'of=/dev/xvdt', 'bs=1M', 'count=20', 'oflag=direct'];
    const limited = t.run(['run', '--rm', '--device', `${loop}:/dev/xvdt`, '--device-write-bps', `${loop}:5mb`, ...dd], { timeout: 120000 });
    ok(limited);
    const rate = ddRate(limited.stderr);
    assert.ok(rate > 3.5 && rate < 6.5, `throttled to ${rate.toFixed(2)} MiB/s, want about 5`);
    const free = t.run(['run', '--rm', '--device', `${loop}:/dev/xvdt`, ...dd], { timeout: 120000 });
    ok(free);
    assert.ok(ddRate(free.stderr) > 10, `unthrottled writes ran at ${ddRate(free.stderr).toFixed(2)} MiB/s`);
  });

  test('the settings reach the cgroup and inspect; iops and read limits too', () => {
    const name = t.uniq('bio');
    ok(t.run(['run', '-d', '--name', name, '--device-read-bps', `${loop}:2m`, '--device-write-iops', `${loop}:100`, '--device-read-iops', `${loop}:200`, 'host', 'sleep', '100']));
    const id = t.run(['inspect', '-f', '{{.Id}}', name]).stdout.trim();
    const cg = `/sys/fs/cgroup/blkio/berth/${id}`;
    if (existsSync(cg)) {
      assert.equal(readFileSync(join(cg, 'blkio.throttle.read_bps_device'), 'utf8').trim(), `${mm} 2097152`);
      assert.equal(readFileSync(join(cg, 'blkio.throttle.write_iops_device'), 'utf8').trim(), `${mm} 100`);
      assert.equal(readFileSync(join(cg, 'blkio.throttle.read_iops_device'), 'utf8').trim(), `${mm} 200`);
    } else {
      const v2 = `/sys/fs/cgroup/berth/${id}/io.max`;
      assert.match(readFileSync(v2, 'utf8'), new RegExp(`${mm} rbps=2097152 wbps=max riops=200 wiops=100`));
    }
    const hc = JSON.parse(t.run(['inspect', '-f', '{{json .HostConfig}}', name]).stdout);
    assert.deepEqual(hc.BlkioDeviceReadBps, [{ Path: loop, Rate: 2097152 }]);
    assert.deepEqual(hc.BlkioDeviceWriteIOps, [{ Path: loop, Rate: 100 }]);
    ok(t.run(['rm', '-f', name]));
  });

  test('bad values: docker messages, exit 125, nothing created', () => {
    const before = t.run(['ps', '-aq']).stdout;
    for (const [args, re] of [
      [['--device-write-bps', `${loop}:5xb`], /invalid rate for device/],
      [['--device-write-bps', '/dev/berth-no-such-disk:5mb'], /no such file or directory/],
      [['--device-read-iops', `${loop}:1.5`], /--device-read-iops/],
      [['--device-write-bps', `${join(t.dir, 'disk.img')}:1m`], /not a block device/],
      [['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/],
      [['--blkio-weight-device', `${loop}:5`], /--blkio-weight-device/],
    ] as const) {
      const r = t.run(['run', '--rm', ...args, 'host', 'true']);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(t.run(['ps', '-aq']).stdout, before);
  });

  test('library: deviceWriteBps', async () => {
    const r = await lib.run({ image: 'host', cmd: ['dd', 'if=/dev/zero', 'of=/dev/xvdt', 'bs=1M', 'count=12', 'oflag=direct'], devices: [`${loop}:/dev/xvdt`], deviceWriteBps: [{ Path: loop, Rate: 4 * 1048576 }], autoRemove: true });
    assert.equal(r.exitCode, 0, r.stderr);
    const rate = ddRate(r.stderr ?? '');
    assert.ok(rate > 2.5 && rate < 5.5, `throttled to ${rate.toFixed(2)} MiB/s, want about 4`);
  });
});
