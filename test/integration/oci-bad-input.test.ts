// Bad config.json input for the isolation features (id mappings, seccomp, capabilities): each
// fails create with a message naming the field, and leaves nothing behind (no state directory,
// process, cgroup or mount).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import type { Spec } from '../../src/spec/types.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));

function leftovers(b: Bundle): string[] {
  const found: string[] = [];
  if (existsSync(b.root)) for (const e of readdirSync(b.root)) if (!e.startsWith('.')) found.push(`state ${e}`);
  for (const ctl of readdirSync('/sys/fs/cgroup')) {
    if (existsSync(join('/sys/fs/cgroup', ctl, 'berth', b.id))) found.push(`cgroup ${ctl}/berth/${b.id}`);
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(b.dir)) found.push('a mount under the bundle');
  if (oci(b, ['list', '-q']).stdout !== '') found.push('listed');
  return found;
}

function userns(s: Spec): void {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
}

const CASES: [name: string, edit: (s: Spec) => void, message: RegExp][] = [
  // id mappings
  ['overlapping container ranges', (s) => {
    userns(s);
    s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 100 }, { containerID: 50, hostID: 300000, size: 100 }];
  }, /linux\.uidMappings\[1\]: container id range 50-149 overlaps linux\.uidMappings\[0\]/],
  ['overlapping host ranges', (s) => {
    userns(s);
    s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 100 }, { containerID: 1000, hostID: 200099, size: 10 }];
  }, /linux\.gidMappings\[1\]: host id range 200099-200108 overlaps/],
  ['no container root', (s) => {
    userns(s);
    s.linux!.uidMappings = [{ containerID: 1, hostID: 200000, size: 100 }];
  }, /linux\.uidMappings: container uid 0 \(root\) must be mapped/],
  ['process uid not mapped', (s) => {
    userns(s);
    s.process!.user.uid = 70000;
  }, /process\.user\.uid: uid 70000 is not mapped/],
  ['mappings without a user namespace', (s) => {
    s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  }, /linux\.uidMappings: id mappings need a user namespace/],
  ['a mapping past 2^32', (s) => {
    userns(s);
    s.linux!.uidMappings = [{ containerID: 0, hostID: 4294967000, size: 65536 }];
  }, /linux\.uidMappings\[0\]: host range .* goes past 4294967295/],
  ['too many mappings', (s) => {
    userns(s);
    s.linux!.uidMappings = Array.from({ length: 400 }, (_, i) => ({ containerID: i, hostID: 200000 + i, size: 1 }));
  }, /linux\.uidMappings: has 400 entries; the kernel accepts at most 340/],
  // seccomp: wrong types
  ['seccomp syscalls not an array', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: 'read' as never };
  }, /linux\.seccomp\.syscalls/],
  ['seccomp name not a string', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [1 as never], action: 'SCMP_ACT_ALLOW' }] };
  }, /linux\.seccomp\.syscalls\[0\]\.names\[0\]/],
  ['seccomp unknown action', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_MAYBE' as never };
  }, /linux\.seccomp\.defaultAction.*SCMP_ACT_MAYBE/],
  ['seccomp errnoRet not a number', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 'EPERM' as never };
  }, /linux\.seccomp\.defaultErrnoRet/],
  ['seccomp argument index out of range', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] }] };
  }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index/],
  ['seccomp unknown operator', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_ABOUT' as never }] }] };
  }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op/],
  ['seccomp notify without a listener', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  }, /listenerPath/],
  // seccomp: absurd sizes
  ['a filter far over the kernel limit', (s) => {
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: Array.from({ length: 5000 }, (_, i) => ({ names: ['read'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: (i % 4000) + 1, args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' as const }] })),
    };
  }, /linux\.seccomp: the compiled filter has \d+ instructions; the kernel accepts at most 4096/],
  // capabilities
  ['an unknown capability', (s) => (s.process!.capabilities!.bounding = ['CAP_FLY']), /CAP_FLY/],
  ['an unknown ambient capability', (s) => (s.process!.capabilities!.ambient = ['CAP_KILL', 'CAP_TELEPORT']), /process\.capabilities\.ambient.*CAP_TELEPORT/],
  ['a capability that is not a string', (s) => (s.process!.capabilities!.effective = [5 as never]), /process\.capabilities\.effective\[0\]/],
];

describe('bad isolation input fails create clearly and leaves nothing', () => {
  for (const [name, edit, message] of CASES) {
    test(name, () => {
      const b = makeBundle(['true'], edit);
      made.push(b);
      const r = runIn(b);
      assert.notEqual(r.status, 0, `${name}: should fail`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /TypeError|RangeError|\n\s+at /, 'no stack trace');
      assert.ok(r.stderr.length < 600, `message too long: ${r.stderr.length} bytes`);
      assert.deepEqual(leftovers(b), []);
    });
  }
});
