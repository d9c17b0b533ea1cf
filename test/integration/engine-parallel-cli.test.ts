// Issue 6's fault "100 containers run and removed by parallel CLI invocations: none lost, no
// leaked cgroup, mount or process" (root), with the default bridge network for most of them, so
// that no veth or netns may be left either. A file of its own: it is the slowest test here.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { testBerthWithRootfs } from '../helpers/berth-cli.js';
import { eventIds, labelledIds, leaks, pool, startCli } from '../helpers/cli-procs.js';

const { t, rootfs } = testBerthWithRootfs('parallel');

const ids = (label: string) => labelledIds(t, label);

describe('berth CLI: 100 parallel invocations', () => {
  test('100 containers run and removed by parallel CLI invocations: none lost, no cgroup, mount, process or veth left', async () => {
    const tag = t.uniq('hundred');
    const bridge = t.run(['network', 'inspect', '-f', '{{.Id}}', 'bridge']).stdout.trim();
    const half = Array.from({ length: 100 }, (_, i) => i);
    // 50 detached (then removed by parallel rm -f), 50 in the foreground with --rm
    const rs = await pool(half, 8, async (i) => {
      const net = i % 4 === 0 ? ['--network', 'none'] : [];
      if (i % 2) return startCli(t, ['run', '--rm', '--name', `${tag}-${i}`, '-l', `h=${tag}`, ...net, '--rootfs', rootfs, 'sh', '-c', `echo ${i}`]).done;
      return startCli(t, ['run', '-d', '--name', `${tag}-${i}`, '-l', `h=${tag}`, ...net, '--rootfs', rootfs, 'sleep', '300']).done;
    });
    const detached: string[] = [];
    rs.forEach((r, i) => {
      assert.equal(r.status, 0, `run ${i}: ${r.stderr}`);
      if (i % 2) assert.equal(r.stdout, `${i}\n`);
      else detached.push(r.stdout.trim());
    });
    assert.equal(new Set(detached).size, 50);
    const listed = ids(`h=${tag}`);
    assert.deepEqual([...listed].sort(), [...detached].sort(), 'the 50 detached containers are listed, the --rm ones are gone');
    assert.equal(t.run(['ps', '-q', '--filter', `label=h=${tag}`, '--filter', 'status=running']).stdout.split('\n').filter(Boolean).length, 50);
    const rm = await pool(detached, 8, (id) => startCli(t, ['rm', '-f', id]).done);
    rm.forEach((r) => assert.equal(r.status, 0, r.stderr));
    assert.deepEqual(ids(`h=${tag}`), []);
    // the --rm ones' ids come from the event log
    const all = eventIds(t, 'destroy', tag);
    assert.equal(new Set(all).size, 100, 'one destroy event per container');
    assert.deepEqual(leaks(all, [bridge]), []);
    for (const id of all) assert.ok(!existsSync(join(t.stateRoot, 'containers', id)), `state of ${id}`);
  });

});
