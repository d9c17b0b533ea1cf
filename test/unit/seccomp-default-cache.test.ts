// The per-process default seccomp profile (src/seccomp/default-profile-cache.ts): built once per
// capability set, equal to a fresh build, and frozen so no spec sharing it can change it.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sharedDefaultSeccompProfile } from '../../src/seccomp/default-profile-cache.js';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import { cachedSeccompProgram, rememberSeccompProgram } from '../../src/seccomp/cache-key.js';
import { seccompProgramFile } from '../../src/seccomp/cache.js';

describe('shared default seccomp profile', () => {
  it('is one frozen object per capability set, equal to a fresh build', () => {
    const caps = ['CAP_CHOWN', 'CAP_KILL', `CAP_SYS_ADMIN`];
    const a = sharedDefaultSeccompProfile(caps);
    assert.equal(sharedDefaultSeccompProfile([...caps]), a);
    assert.deepEqual(a, defaultSeccompProfile(caps));
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.syscalls) && Object.isFrozen(a.syscalls![0]!.names));
    assert.throws(() => (a.syscalls as unknown[]).push({}), TypeError);
    const other = sharedDefaultSeccompProfile(['CAP_CHOWN']);
    assert.notEqual(other, a);
    assert.deepEqual(other, defaultSeccompProfile(['CAP_CHOWN']));
  });

  it('the cache index finds its program, and a changed profile misses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-shared-'));
    try {
      const p = sharedDefaultSeccompProfile(['CAP_KILL']);
      assert.equal(cachedSeccompProgram(p, dir), undefined);
      const file = seccompProgramFile(p, dir);
      rememberSeccompProgram(p, dir, file);
      assert.equal(cachedSeccompProgram(p, dir), file);
      assert.equal(cachedSeccompProgram(p, dir), file, 'again, from the remembered hit');
      const changed = { ...structuredClone(p), defaultAction: 'SCMP_ACT_KILL' } as typeof p;
      assert.equal(cachedSeccompProgram(changed, dir), undefined);
      rmSync(file);
      assert.equal(cachedSeccompProgram(p, dir), undefined, 'a removed program file is a miss');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
