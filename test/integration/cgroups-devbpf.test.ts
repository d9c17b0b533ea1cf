// cgroup v2 device programs on the real kernel (root). On this hybrid host the kernel runs the
// eBPF device programs of a task's unified-hierarchy cgroup in addition to the v1 devices
// controller, so a program attached below /sys/fs/cgroup/unified is enforced; on a v2 host the
// same test runs in the v2 hierarchy. Every cgroup is detached and removed even on failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { shimDeviceProgramLoader } from '../../src/cgroups/devbpf.js';
import { hostFor } from '../../src/cgroups/host.js';
import { HostFs } from '../../src/cgroups/hostfs.js';
import { HybridManager } from '../../src/cgroups/hybrid.js';
import { compileDeviceRules, openCgroupManager, withDefaultDeviceRules } from '../../src/cgroups/index.js';
import type { LinuxDeviceCgroup } from '../../src/spec/types.js';

const root = process.getuid?.() === 0;
const host = root ? hostFor(new HostFs('')) : undefined;
const unified = host?.cgroups.unified?.mountpoint;
const skip = !root ? 'needs root' : !unified ? 'no cgroup v2 hierarchy' : false;
let seq = 0;
const unique = (): string => `berth-devbpf-${process.pid}-${Date.now().toString(36)}-${seq++}`;

const SCRIPT = 'read go; echo x > /dev/null; echo "null=$?"; echo "zero=$(head -c1 /dev/zero | wc -c)"';

/** Run SCRIPT in a shell moved into `procs` (cgroup.procs files) before it touches a device. */
async function probe(procs: string[]): Promise<{ nullStatus: number; zeroBytes: number; stderr: string }> {
  const child = spawn('sh', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const done = new Promise<number | null>((res) => child.on('close', res));
  try {
    for (const f of procs) writeFileSync(f, String(child.pid));
  } catch (e) {
    child.kill('SIGKILL');
    await done;
    throw e;
  }
  child.stdin.end('go\n');
  assert.equal(await done, 0, err);
  const nullStatus = Number(/null=(\d+)/.exec(out)?.[1]);
  const zeroBytes = Number(/zero=(\d+)/.exec(out)?.[1]);
  return { nullStatus, zeroBytes, stderr: err };
}

const denyNullWrite: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rm' }, // /dev/null without w
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
];

describe('cgroup v2 eBPF device programs', { skip }, () => {
  it('denies /dev/null writes, allows /dev/zero, and is replaced by an update', async () => {
    const dir = `${unified}/${unique()}`;
    mkdirSync(dir);
    try {
      let t = process.hrtime.bigint();
      shimDeviceProgramLoader(dir, compileDeviceRules(denyNullWrite).code);
      const attachMs = Number(process.hrtime.bigint() - t) / 1e6;
      const before = await probe([`${dir}/cgroup.procs`]);
      assert.notEqual(before.nullStatus, 0);
      assert.match(before.stderr, /Operation not permitted/);
      assert.equal(before.zeroBytes, 1);

      t = process.hrtime.bigint();
      shimDeviceProgramLoader(dir, compileDeviceRules(withDefaultDeviceRules([{ allow: false, access: 'rwm' }])).code);
      const replaceMs = Number(process.hrtime.bigint() - t) / 1e6;
      const after = await probe([`${dir}/cgroup.procs`]);
      assert.equal(after.nullStatus, 0, after.stderr);
      assert.equal(after.zeroBytes, 1);
      console.log(`# devices-bpf: attach ${attachMs.toFixed(1)} ms, replace ${replaceMs.toFixed(1)} ms`);

      // back to the restrictive one, then detached: everything allowed again
      shimDeviceProgramLoader(dir, compileDeviceRules(denyNullWrite).code);
      shimDeviceProgramLoader(dir, null);
      const detached = await probe([`${dir}/cgroup.procs`]);
      assert.equal(detached.nullStatus, 0, detached.stderr);
    } finally {
      try {
        shimDeviceProgramLoader(dir, null);
      } finally {
        rmdirSync(dir);
      }
    }
  });

  it('explains a cgroup that does not exist', () => {
    assert.throws(() => shimDeviceProgramLoader(`${unified}/${unique()}/absent`, compileDeviceRules(denyNullWrite).code), /cannot attach the eBPF device program to .*absent: open .*No such file or directory/);
  });

  it('enforces device rules through the cgroup manager (hybrid: with hybridDeviceBpf, beside v1)', async () => {
    const layout = host!.cgroups.layout;
    const m = openCgroupManager(`/${unique()}/ctr`, 'it', { hybridDeviceBpf: true });
    try {
      const t = process.hrtime.bigint();
      m.create({ devices: denyNullWrite });
      const createMs = Number(process.hrtime.bigint() - t) / 1e6;
      console.log(`# ${layout} create() with device rules: ${createMs.toFixed(1)} ms`);
      const unifiedDir = m.dirs().unified!;
      assert.ok(existsSync(unifiedDir));
      if (layout === 'hybrid') {
        // Open up the v1 devices controller: the eBPF program alone must still refuse.
        writeFileSync(`${m.dirs().devices}/devices.allow`, 'a');
      }
      const denied = await probe(m.procsFiles());
      assert.notEqual(denied.nullStatus, 0);
      assert.equal(denied.zeroBytes, 1);
      m.update({ devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }]) });
      const allowed = await probe(m.procsFiles());
      assert.equal(allowed.nullStatus, 0, allowed.stderr);
    } finally {
      m.destroy();
    }
  });

  it('hybrid without hybridDeviceBpf attaches nothing to the unified cgroup', { skip: host?.cgroups.layout !== 'hybrid' && 'hybrid only' }, async () => {
    const m = openCgroupManager(`/${unique()}/ctr`, 'it');
    assert.ok(m instanceof HybridManager);
    try {
      m.create({ devices: denyNullWrite });
      writeFileSync(`${m.dirs().devices}/devices.allow`, 'a');
      const r = await probe(m.procsFiles());
      assert.equal(r.nullStatus, 0, r.stderr);
    } finally {
      m.destroy();
    }
  });
});
