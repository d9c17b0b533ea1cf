// `berth update` of block I/O (root, a loop device made from a sparse file): docker's
// --blkio-weight and podman's --blkio-weight-device/--device-{read,write}-{bps,iops} reach the
// running container's cgroup, merge by device (0 removes a limit), show in inspect, survive a
// restart, a stop/start and a later update of other limits; a created container gets them at
// start; bad values exit 125 and change nothing. Through the CLI and the library.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { attachLoop, detachLoop } from '../helpers/loop-device.js';

const t = testBerth('updblk');
let lib: Berth;
let loop = '';
let mm = '';

before(() => {
  ({ path: loop, majMin: mm } = attachLoop(t.dir, '64M'));
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

const idOf = (name: string) => t.run(['inspect', '-f', '{{.Id}}', name]).stdout.trim();

/** The container's block I/O cgroup settings: weight and the four throttle files (v1), or io.max (v2). */
function cgroupBlkio(name: string): { weight: string | null; rbps: string; wbps: string; riops: string; wiops: string } {
  const id = idOf(name);
  const v1 = `/sys/fs/cgroup/blkio/berth/${id}`;
  const read = (f: string) => (existsSync(join(v1, f)) ? readFileSync(join(v1, f), 'utf8').trim() : '');
  assert.ok(existsSync(v1), `no blkio cgroup ${v1}`);
  // the weight file exists only with bfq (or the old CFQ) on the host: null without
  const wf = ['blkio.bfq.weight', 'blkio.weight'].find((f) => existsSync(join(v1, f)));
  return {
    weight: wf ? read(wf).replace(/^default /, '') : null,
    rbps: read('blkio.throttle.read_bps_device'), wbps: read('blkio.throttle.write_bps_device'),
    riops: read('blkio.throttle.read_iops_device'), wiops: read('blkio.throttle.write_iops_device'),
  };
}

const hostConfig = (name: string) => JSON.parse(t.run(['inspect', '-f', '{{json .HostConfig}}', name]).stdout) as Record<string, unknown>;
describe('update: block I/O', () => {
  test('a running container: applied, merged by device, inspect, restart, stop/start, other updates', () => {
    const name = t.uniq('upd');
    ok(t.run(['run', '-d', '--name', name, '--device-read-bps', `${loop}:2m`, '--device-write-iops', `${loop}:100`, 'host', 'sleep', '300']));
    assert.equal(cgroupBlkio(name).rbps, `${mm} 2097152`);
    const r = t.run(['update', '--blkio-weight', '300', '--device-write-bps', `${loop}:1m`, '--device-read-bps', `${loop}:0`, '--device-read-iops', `${loop}:150`, name]);
    ok(r);
    assert.equal(r.stdout, `${name}\n`);
    const check = (when: string) => {
      const c = cgroupBlkio(name);
      assert.equal(c.rbps, '', `${when}: --device-read-bps ${loop}:0 removes the limit`);
      assert.equal(c.wbps, `${mm} 1048576`, when);
      assert.equal(c.riops, `${mm} 150`, when);
      assert.equal(c.wiops, `${mm} 100`, `${when}: a limit not named in update stays`);
      if (c.weight !== null) assert.equal(c.weight, '300', when);
      const hc = hostConfig(name);
      assert.equal(hc.BlkioWeight, 300, when);
      assert.deepEqual(hc.BlkioDeviceWriteBps, [{ Path: loop, Rate: 1048576 }], when);
      assert.deepEqual(hc.BlkioDeviceReadIOps, [{ Path: loop, Rate: 150 }], when);
      assert.deepEqual(hc.BlkioDeviceWriteIOps, [{ Path: loop, Rate: 100 }], when);
      assert.ok(!(hc.BlkioDeviceReadBps as unknown[] | null)?.length, `${when}: ${JSON.stringify(hc.BlkioDeviceReadBps)}`);
    };
    check('updated');
    // naming a device again replaces its entry
    ok(t.run(['update', '--device-write-iops', `${loop}:120`, name]));
    assert.equal(cgroupBlkio(name).wiops, `${mm} 120`);
    ok(t.run(['update', '--device-write-iops', `${loop}:100`, name]));
    // an update of another limit keeps the block I/O settings in the spec
    ok(t.run(['update', '-m', '64m', name]));
    ok(t.run(['restart', '-t', '1', name]));
    check('restarted');
    ok(t.run(['stop', '-t', '1', name]));
    ok(t.run(['start', name]));
    check('stopped and started');
    ok(t.run(['rm', '-f', name]));
  });

  test('a created container gets them at start; bad values exit 125 and change nothing', () => {
    const name = t.uniq('created');
    ok(t.run(['create', '--name', name, 'host', 'sleep', '300']));
    ok(t.run(['update', '--device-write-bps', `${loop}:3mb`, '--blkio-weight', '250', name]));
    const before = JSON.stringify(hostConfig(name));
    for (const [args, re] of [
      [['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/],
      [['--blkio-weight', 'x'], /--blkio-weight/],
      [['--device-write-bps', `${loop}:5xb`], /invalid rate for device/],
      [['--device-read-iops', `${loop}:1.5`], /--device-read-iops/],
      [['--device-write-bps', '/dev/berth-no-such-disk:5mb'], /no such file or directory/],
      [['--device-write-bps', `${join(t.dir, 'disk.img')}:1m`], /not a block device/],
      [['--blkio-weight-device', `${loop}:5`], /--blkio-weight-device/],
      [['--device-read-bps', 'relative/path:1m'], /absolute path/],
      [['-m', '12x'], /invalid argument "12x" for "-m, --memory" flag/],
    ] as const) {
      const r = t.run(['update', ...args, name]);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(JSON.stringify(hostConfig(name)), before, 'a bad update changed the container');
    ok(t.run(['start', name]));
    const c = cgroupBlkio(name);
    assert.equal(c.wbps, `${mm} 3145728`);
    if (c.weight !== null) assert.equal(c.weight, '250');
    // a per-device weight needs bfq on that device: applied, or refused with the reason and not recorded
    const wd = t.run(['update', '--blkio-weight-device', `${loop}:200`, name]);
    if (wd.status === 0) assert.deepEqual(hostConfig(name).BlkioWeightDevice, [{ Path: loop, Weight: 200 }]);
    else {
      assert.equal(wd.status, 1, wd.stderr);
      assert.match(wd.stderr, /Cannot update container .*weightDevice/);
      assert.ok(!(hostConfig(name).BlkioWeightDevice as unknown[] | null)?.length);
    }
    ok(t.run(['rm', '-f', name]));
  });

  test('library: update(id, { deviceWriteIops, blkioWeight })', async () => {
    const { id } = await lib.run({ image: 'host', cmd: ['sleep', '300'], detach: true });
    try {
      lib.update(id, { deviceWriteIops: [`${loop}:77`], deviceReadBps: [{ Path: loop, Rate: 4096 * 256 }], blkioWeight: 500 });
      const hc = (lib.inspect(id) as { HostConfig: Record<string, unknown> }).HostConfig;
      assert.deepEqual(hc.BlkioDeviceWriteIOps, [{ Path: loop, Rate: 77 }]);
      assert.deepEqual(hc.BlkioDeviceReadBps, [{ Path: loop, Rate: 1048576 }]);
      assert.equal(hc.BlkioWeight, 500);
      const v1 = `/sys/fs/cgroup/blkio/berth/${id}`;
      assert.equal(readFileSync(join(v1, 'blkio.throttle.write_iops_device'), 'utf8').trim(), `${mm} 77`);
      assert.throws(() => lib.update(id, { deviceWriteIops: [`${loop}:-1`] }), /--device-write-iops/);
    } finally {
      await lib.remove(id, { force: true });
    }
  });
});
