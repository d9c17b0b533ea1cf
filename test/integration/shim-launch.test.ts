// berth-shim's start-up protocol, driven with hand-written plans: the init sets up while the
// parent is still reporting its pid, yet berth always hears "PID" before anything the init says;
// cgroups are joined through directories the parent opened once.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { launch } from '../../src/runtime/launch.js';
import { encodePlan, MS, type PlanOp } from '../../src/runtime/plan.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-shim-launch-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
makeBusyboxRootfs(rootfs);
after(() => rmSync(dir, { recursive: true, force: true }));

const sfx = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** A minimal container: new mount/pid/ipc/uts namespaces on the busybox rootfs, then `ops`. */
function plan(ops: PlanOp[], head: PlanOp[] = []): Buffer {
  return encodePlan([
    ['MODE', 'wait'],
    ...head,
    ['UNSHARE', 'pid', 'ipc', 'uts', 'mount'],
    ['ROOTFS', rootfs],
    ['PROPAGATE', '/', MS.SLAVE | MS.REC],
    ['BIND_ROOTFS'],
    ['MOUNT', 'proc', '/proc', 'proc', 0, '', 'd', 0, 0, 0, 0, ''],
    ...ops,
  ]);
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function rejection(p: Promise<unknown>): Promise<Error & { pid: number }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { pid: number };
  }
  assert.fail('the launch should have failed');
}

describe('berth-shim launch protocol', () => {
  test('a container runs to its exit status', async () => {
    const l = await launch(plan([['PIVOT'], ['READY'], ['EXEC', 'sh', '-c', 'exit 7']]));
    assert.ok(l.pid > 0);
    assert.equal(await l.exit, 7);
  });

  test('an init that fails early still reports after its PID: the error carries the pid', async () => {
    // the first thing the init does after proc fails; it must wait for the parent's report first
    for (let i = 0; i < 5; i++) {
      const missing = `/nonexistent-${sfx}-${i}`;
      const e = await rejection(launch(plan([['MOUNT', missing, '/mnt', '', MS.BIND, '', 'd', 0, 0, 0, 0, ''], ['EXEC', 'true']])));
      assert.match(e.message, new RegExp(`mount ${missing} on /mnt`));
      assert.ok(e.pid > 0, `PID was heard before the error (pid ${e.pid})`);
      for (let t = 0; t < 200 && !gone(e.pid); t++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(gone(e.pid), 'the failed init is gone');
    }
  });

  test('an init that exits without a word waits for its report, and the shim returns its status', async () => {
    const l = await launch(plan([['READY'], ['EXIT', '3']]));
    assert.ok(l.pid > 0);
    assert.equal(await l.exit, 3);
  });

  test('a cgroup that cannot be opened fails the start, naming it, before any init exists', async () => {
    const cg = `/sys/fs/cgroup/pids/berth-missing-${sfx}`;
    const e = await rejection(launch(plan([['EXEC', 'true']], [['CGROUP_JOIN', cg]])));
    assert.match(e.message, new RegExp(`open cgroup ${cg}`));
    assert.equal(e.pid, 0);
  });

  test('v1 and v2 cgroups are joined through the directories the parent opened', async () => {
    const dirs = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/unified']
      .map((root) => join(root, `berth-shim-t-${sfx}`));
    const made = dirs.filter((d) => {
      try {
        mkdirSync(d);
        return true;
      } catch {
        return false; // a hierarchy this host lacks
      }
    });
    assert.ok(made.length > 0, 'no cgroup hierarchy to test with');
    try {
      const l = await launch(plan([['PIVOT'], ['READY'], ['EXEC', 'sleep', '100']], made.map((d) => ['CGROUP_JOIN', d] as PlanOp)));
      try {
        const mine = readFileSync(`/proc/${l.pid}/cgroup`, 'utf8');
        for (const d of made) {
          const rel = d.replace(/^\/sys\/fs\/cgroup\/[^/]+/, '');
          assert.ok(mine.split('\n').some((line) => line.endsWith(`:${rel}`)), `init in ${d}:\n${mine}`);
        }
      } finally {
        process.kill(l.pid, 'SIGKILL');
        await l.exit;
      }
    } finally {
      for (const d of made) for (let t = 0; t < 100; t++) {
        try {
          rmdirSync(d);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  });
});
