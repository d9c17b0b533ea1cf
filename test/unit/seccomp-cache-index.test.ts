// The seccomp cache's index (src/seccomp/cache-key.ts): a create finds the compiled program of a
// profile without sha256, and the index can never hand out another profile's program.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedSeccompProgram, rememberSeccompProgram, seccompCacheKey } from '../../src/seccomp/cache-key.js';
import { seccompProgramFile } from '../../src/seccomp/cache.js';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import type { LinuxSeccomp } from '../../src/spec/types.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const x86 = { nativeArch: 'x86_64' };

describe('seccomp cache index', () => {
  it('misses until a program is remembered, then hits the same file', () => {
    const cacheDir = join(dir, 'a');
    const spec = defaultSeccompProfile(['CAP_CHOWN', 'CAP_KILL'], x86);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined);
    const file = seccompProgramFile(spec, cacheDir, x86);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined, 'compiled but not indexed yet');
    rememberSeccompProgram(spec, cacheDir, file, x86);
    assert.equal(cachedSeccompProgram(structuredClone(spec), cacheDir, x86), file);
    assert.equal(file, join(cacheDir, `${seccompCacheKey(spec, x86)}.bpf`));
    // the same profile with its keys in another order is the same entry
    const reordered = { syscalls: spec.syscalls, architectures: spec.architectures, defaultErrnoRet: spec.defaultErrnoRet, defaultAction: spec.defaultAction } as LinuxSeccomp;
    assert.equal(cachedSeccompProgram(reordered, cacheDir, x86), file);
    // another architecture or profile is not
    assert.equal(cachedSeccompProgram(spec, cacheDir, { nativeArch: 'aarch64' }), undefined);
    assert.equal(cachedSeccompProgram(defaultSeccompProfile(['CAP_SYS_ADMIN'], x86), cacheDir, x86), undefined);
    assert.deepEqual(readdirSync(join(cacheDir, 'index')).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  });

  it('keeps profiles of one text length apart in one index file, the newest eight of them', () => {
    const cacheDir = join(dir, 'c');
    // names of one length: the canonical texts have one length, so they share an index file
    const names = ['write', 'fstat', 'lstat', 'lseek', 'close', 'ioctl', 'readv', 'dup2x', 'pause', 'alarm'];
    const specOf = (n: string): LinuxSeccomp => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', n], action: 'SCMP_ACT_ALLOW' }] });
    // program files stand in for compiled ones (the index only records their names)
    const fileOf = (n: string) => join(cacheDir, `${seccompCacheKey(specOf(n), x86)}.bpf`);
    for (const n of names) {
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(fileOf(n), Buffer.alloc(8));
      rememberSeccompProgram(specOf(n), cacheDir, fileOf(n), x86);
      assert.equal(cachedSeccompProgram(specOf(n), cacheDir, x86), fileOf(n));
    }
    assert.equal(readdirSync(join(cacheDir, 'index')).length, 1, 'one file for one length');
    // the newest eight are found, each with its own program; the two oldest were dropped
    for (const n of names.slice(2)) assert.equal(cachedSeccompProgram(specOf(n), cacheDir, x86), fileOf(n), n);
    for (const n of names.slice(0, 2)) assert.equal(cachedSeccompProgram(specOf(n), cacheDir, x86), undefined, n);
    // remembering a known profile again neither duplicates it nor drops another
    rememberSeccompProgram(specOf('pause'), cacheDir, fileOf('pause'), x86);
    for (const n of names.slice(2)) assert.equal(cachedSeccompProgram(specOf(n), cacheDir, x86), fileOf(n), n);
    // a profile of that length never recorded is a miss, not a neighbour's program
    assert.equal(cachedSeccompProgram(specOf('fcntl'), cacheDir, x86), undefined);
  });

  it('treats an entry whose text differs (a collision, a torn write) or whose key is bad as a miss', () => {
    const cacheDir = join(dir, 'b');
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] };
    const file = seccompProgramFile(spec, cacheDir, x86);
    rememberSeccompProgram(spec, cacheDir, file, x86);
    const [entry] = readdirSync(join(cacheDir, 'index'));
    const path = join(cacheDir, 'index', entry!);
    const good = readFileSync(path, 'utf8');
    const key = good.slice(0, good.indexOf('\n'));
    // the entry of another profile under this name: the full text comparison refuses it
    writeFileSync(path, `${key}\n${good.slice(good.indexOf('\n') + 1).replace('"write"', '"ptrace"')}`);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined);
    writeFileSync(path, good.slice(0, good.length - 3));
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined);
    writeFileSync(path, `../../etc/passwd\n${good.slice(good.indexOf('\n') + 1)}`);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined);
    // a program file that went away is a miss too
    writeFileSync(path, good);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), file);
    rmSync(file);
    assert.equal(cachedSeccompProgram(spec, cacheDir, x86), undefined);
  });
});
