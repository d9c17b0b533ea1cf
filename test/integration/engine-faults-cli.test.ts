// Issue 6's faults through the `berth` CLI (root): kill -9 of the CLI at many moments of run and
// rm -f, and a wiped state root (a reboot), reconciled by ps -a with nothing leaked. (100 parallel
// CLIs: engine-parallel-cli.test.ts.) Everything is removed at the end (test/helpers/berth-cli.ts
// checks that no container, cgroup or monitor is left).
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { eventIds, labelledIds, leaks, pool, sleep, startCli, until } from '../helpers/cli-procs.js';

const { t, rootfs } = testBerthWithRootfs('faults');

const ids = (label: string) => labelledIds(t, label);

describe('berth CLI: the faults of issue 6', () => {
  test('kill -9 of the CLI at many moments of run and rm: ps -a reconciles, everything can be removed, nothing leaks', async () => {
    const tag = t.uniq('k9');
    const bridge = t.run(['network', 'inspect', '-f', '{{.Id}}', 'bridge']).stdout.trim();
    const delays = [0, 40, 80, 120, 160, 200, 260, 320, 400, 500, 650, 800];
    await pool(delays, 4, async (ms, k) => {
      const rm = k % 3 === 0 ? ['--rm'] : [];
      const s = startCli(t, ['run', ...rm, '--name', `${tag}-${k}`, '-l', `k9=${tag}`, '--rootfs', rootfs, 'sh', '-c', 'echo hi; sleep 1; exit 3']);
      await sleep(ms);
      s.child.kill('SIGKILL');
      await s.done;
    });
    // every record is in a state ps can show, and no command hangs on it
    const ps = t.run(['ps', '-a', '--filter', `label=k9=${tag}`, '--format', '{{.Names}} {{.State}}']);
    ok(ps, 'ps -a');
    for (const l of ps.stdout.split('\n').filter(Boolean)) assert.match(l, / (created|running|exited)$/, l);
    // the started ones end with the command's status (3), through their monitors
    await until('every started container to end', () => !t.run(['ps', '-q', '--filter', `label=k9=${tag}`]).stdout.trim(), 30000);
    for (const l of t.run(['ps', '-a', '--filter', `label=k9=${tag}`, '--format', '{{.Names}} {{.State}} {{.Status}}']).stdout.split('\n').filter(Boolean)) {
      assert.match(l, / created Created$| exited Exited \(3\)/, l);
    }
    const left = ids(`k9=${tag}`);
    const made = eventIds(t, 'create', tag);
    if (left.length) ok(t.run(['rm', '-f', ...left]), 'rm -f');
    // rm -f leaves nothing of a killed run right away: no netns mount, no veth, no cgroup, no
    // process (a run killed after its network was set up used to keep them until a next start)
    assert.deepEqual(leaks(made, [bridge]), [], 'left by the killed runs right after rm -f');
    // rm -f killed at many moments too
    const victims: string[] = [];
    for (let k = 0; k < 6; k++) {
      const r = t.run(['run', '-d', '--name', `${tag}-rm${k}`, '-l', `k9=${tag}`, '--rootfs', rootfs, 'sleep', '300']);
      ok(r);
      victims.push(r.stdout.trim());
    }
    await pool(victims, 3, async (id, k) => {
      const s = startCli(t, ['rm', '-f', id]);
      await sleep(k * 60);
      s.child.kill('SIGKILL');
      await s.done;
    });
    const after = t.run(['ps', '-a', '--filter', `label=k9=${tag}`, '--format', '{{.ID}} {{.State}}']);
    ok(after, 'ps -a after killed rm -f');
    const rest = ids(`k9=${tag}`);
    if (rest.length) ok(t.run(['rm', '-f', ...rest]), 'rm -f again');
    assert.deepEqual(ids(`k9=${tag}`), []);
    // what a killed rm -f left is for the next start to reconcile (issue 7: "also after a crash
    // (reconciled on the next start)"): one more run on the bridge, then nothing may be left
    const all = [...made, ...victims];
    let left2 = leaks(all, [bridge]);
    for (let i = 0; i < 10 && left2.length; i++) {
      ok(t.run(['run', '--rm', '--rootfs', rootfs, 'true']), 'the next start');
      await sleep(1000);
      left2 = leaks(all, [bridge]);
    }
    assert.deepEqual(left2, []);
  });

  test('a wiped state root (a reboot): ps -a shows the running ones exited, they start again and are removed cleanly', () => {
    const names = [t.uniq('wipe'), t.uniq('wipe'), t.uniq('wipe')];
    const wids = names.map((n) => {
      const r = t.run(['run', '-d', '--name', n, '--network', 'none', '--rootfs', rootfs, 'sleep', '300']);
      ok(r);
      return r.stdout.trim();
    
});
    ok(t.run(['pause', names[1]!]));
    const stopped = t.uniq('wipe-stopped');
    assert.equal(t.run(['run', '--name', stopped, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'exit 4']).status, 4);
    // what a reboot does: every process of these containers gone (thawed first: a frozen task
    // dies only once thawed), /run empty
    for (const id of wids) if (existsSync(`/sys/fs/cgroup/freezer/berth/${id}`)) writeFileSync(`/sys/fs/cgroup/freezer/berth/${id}/freezer.state`, 'THAWED');
    for (const p of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        const cg = readFileSync(`/proc/${p}/cgroup`, 'utf8');
        if (cmd.includes(t.stateRoot + '/') || wids.some((id) => cg.includes(id))) process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(t.stateRoot, { recursive: true, force: true });
    const ps = t.run(['ps', '-a', '--filter', `name=wipe`, '--format', '{{.Names}} {{.State}}']);
    ok(ps);
    const states = Object.fromEntries(ps.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')));
    for (const n of names) assert.equal(states[n], 'exited', `${n} after the wipe: ${ps.stdout}`);
    assert.equal(states[stopped], 'exited');
    assert.equal(t.run(['inspect', '-f', '{{.State.ExitCode}}', stopped]).stdout, '4\n', 'a stopped container keeps its status');
    ok(t.run(['start', names[0]!]), 'start after the wipe');
    assert.equal(t.run(['exec', names[0]!, 'echo', 'alive']).stdout, 'alive\n');
    ok(t.run(['rm', '-f', ...names, stopped]));
    assert.deepEqual(leaks(wids), []);
  });
});

