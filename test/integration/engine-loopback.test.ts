// A --network none container has its loopback up, as docker's and podman's do (127.0.0.1/8 and
// ::1 answer): the engine's plans carry the shim's LOOPBACK_UP (src/engine/loopback.ts,
// native/berth-loopback.c), in the first run's netns (the standby's prepared one, or one the
// shim unshares) and in each restart's. berth-oci keeps runc's behaviour (lo down): oci-run.test.ts.
// Real containers, as root, through the CLI and through the library.
import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { ok, testBerthWithLibrary } from '../helpers/berth-cli.js';

const tb = testBerthWithLibrary('lo');
const { t, rootfs } = tb; // tb.lib: made in before()

/** lo's state and flags, its addresses, and a ping of each loopback address. */
const PROBE = [
  'cat /sys/class/net/lo/operstate /sys/class/net/lo/flags',
  'ip addr show lo | grep -o -e "inet 127.0.0.1/8" -e "inet6 ::1/128" -e "LOOPBACK,UP"',
  'ping -c1 -W5 127.0.0.1 >/dev/null && echo v4 answers',
  'ping -c1 -W5 ::1 >/dev/null && echo v6 answers',
].join('; ');
// operstate "unknown" and IFF_UP|IFF_LOOPBACK: an up loopback (a down one: "down", 0x8)
const UP = 'unknown\n0x9\nLOOPBACK,UP\ninet 127.0.0.1/8\ninet6 ::1/128\nv4 answers\nv6 answers\n';

test('berth run --network none: lo is up, 127.0.0.1 and ::1 answer (foreground and detached)', () => {
  const r = t.run(['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', PROBE]);
  assert.deepEqual([r.status, r.stdout], [0, UP], r.stderr);
  const name = t.uniq('lod');
  ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '120']), 'run -d');
  const e = t.run(['exec', name, 'sh', '-c', PROBE]);
  assert.deepEqual([e.status, e.stdout], [0, UP], e.stderr);
  ok(t.run(['rm', '-f', name]), 'rm -f');
});

test('library run with network none: lo is up', async () => {
  const r = await tb.lib.run({ rootfs, cmd: ['sh', '-c', PROBE], autoRemove: true, network: 'none' });
  assert.deepEqual([r.exitCode, r.stdout], [0, UP], r.stderr);
});

test('a restarted --network none container gets its new netns\'s lo up too', async () => {
  const name = t.uniq('lor');
  ok(t.run(['run', '-d', '--name', name, '--restart', 'on-failure:2', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'cat /sys/class/net/lo/operstate; exit 3']), 'run -d');
  const end = Date.now() + 30000;
  for (;;) {
    const s = t.run(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', name]).stdout.trim();
    if (s === 'exited 2') break;
    assert.ok(Date.now() < end, `still ${s} after 30 s`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const logs = t.run(['logs', name]);
  assert.equal(logs.stdout, 'unknown\n'.repeat(3), logs.stderr);
  ok(t.run(['rm', '-f', name]), 'rm -f');
});

test("--network host is left as it is (the host's netns, no plan step)", () => {
  const r = t.run(['run', '--rm', '--network', 'host', '--rootfs', rootfs, 'readlink', '/proc/self/ns/net']);
  assert.deepEqual([r.status, r.stdout], [0, `net:[${statSync('/proc/self/ns/net').ino}]\n`], r.stderr);
});
