// Property tests over the whole pure path of a container start: config.json text -> parseSpec ->
// rootless id-map planning -> seccomp compilation -> compileCreate/compileExec -> encodePlan.
// Whatever the input: a plan, or one of berth's own errors (SpecError, RuntimeError,
// SeccompError, CgroupError) -- never a TypeError/RangeError/plain Error -- and nothing written
// on the host (the bundle is a temp directory whose contents are compared before and after).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import { CgroupError } from '../../src/cgroups/errors.js';
import { compileCreate, compileExec, type CgroupHooks } from '../../src/runtime/compile.js';
import { RuntimeError } from '../../src/runtime/errors.js';
import { decodePlan, encodePlan } from '../../src/runtime/plan.js';
import { planRootlessIdMaps, type RootlessHost } from '../../src/runtime/rootless.js';
import { compileSeccomp, defaultSeccompProfile, SeccompError } from '../../src/seccomp/index.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import { SpecError } from '../../src/spec/errors.js';
import { exampleFullSpec, exampleMinimalSpec } from '../../src/spec/examples.js';
import type { Spec } from '../../src/spec/types.js';
import { parseSpec } from '../../src/spec/validate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** A default spec with everything turned on: user namespace, seccomp, idmapped and plain binds, devices, hooks. */
function hardened(): Spec {
  const s = defaultSpec({ cgroupNamespace: false, args: ['sh', '-c', 'true'] });
  s.process!.terminal = false;
  s.process!.capabilities = { bounding: [...DOCKER_CAPS], effective: [...DOCKER_CAPS], permitted: [...DOCKER_CAPS] };
  s.process!.oomScoreAdj = 100;
  s.process!.user = { uid: 1000, gid: 1000, additionalGids: [5], umask: 0o22 };
  const lx = s.linux!;
  lx.namespaces!.push({ type: 'user' }, { type: 'time' });
  lx.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  lx.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  lx.seccomp = defaultSeccompProfile(DOCKER_CAPS);
  lx.sysctl = { 'net.ipv4.ip_forward': '1' };
  lx.timeOffsets = { monotonic: { secs: 10, nanosecs: 0 } };
  lx.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666 }];
  lx.rootfsPropagation = 'rslave';
  s.mounts!.push(
    { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] },
    { destination: '/idm', type: 'bind', source: 'data', options: ['bind', 'idmap'] },
    { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777'] },
  );
  s.hooks = { createRuntime: [{ path: '/bin/true', args: ['true'], timeout: 5 }], startContainer: [{ path: '/bin/true' }] };
  return s;
}

const bases: Array<() => unknown> = [
  () => defaultSpec({ cgroupNamespace: true }),
  () => defaultSpec({ cgroupNamespace: false }),
  () => defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 }),
  hardened,
  exampleFullSpec,
  exampleMinimalSpec,
];

const special = fc.constantFrom<unknown>(
  null, -1, 0, 1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_VALUE, '', '/', '..', '/../../etc', 'rel/path', 'a\0b', 'data',
  '/proc/self/fd/3', 'CAP_SYS_ADMIN', 'CAP_FLY', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_KILL', 'SCMP_ARCH_X86', 'user', 'mount', 'cgroup',
  'bind', 'idmap', 'ridmap', 'rbind', 'ro', '__proto__', [], {}, [[]], true,
  { containerID: 0, hostID: 0, size: 1 }, [{ containerID: 0, hostID: 100000, size: 65536 }],
  { names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
  'x'.repeat(5000),
);

const mutation = fc.record({
  base: fc.nat({ max: bases.length - 1 }),
  edits: fc.array(
    fc.record({ slot: fc.nat(), op: fc.constantFrom('replace', 'delete', 'duplicate'), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), special) }),
    { minLength: 0, maxLength: 4 },
  ),
  mode: fc.constantFrom<'wait' | 'detach'>('wait', 'detach'),
  console: fc.constantFrom('none', 'socket', 'proxy'),
  noPivot: fc.boolean(),
  preserveFds: fc.nat({ max: 3 }),
  cgroupns: fc.boolean(),
  euid: fc.constantFrom(0, 1000),
});

function slots(root: unknown): Array<[Any, string | number]> {
  const out: Array<[Any, string | number]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((item, i) => (out.push([v, i]), walk(item)));
    else if (v !== null && typeof v === 'object') for (const [k, item] of Object.entries(v)) (out.push([v, k]), walk(item));
  };
  walk(root);
  return out;
}

const ours = (e: unknown) => e instanceof SpecError || e instanceof RuntimeError || e instanceof SeccompError || e instanceof CgroupError;

let bundle = '';
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = statSync(p);
      out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const cgroup: CgroupHooks = {
  procsFiles: ['/sys/fs/cgroup/pids/berth/fuzz/cgroup.procs'],
  mountPlan: (destination, ns) =>
    ns
      ? { tmpfs: null, binds: [], mounts: [{ destination, fstype: 'cgroup2', data: '' }] }
      : { tmpfs: destination, binds: [{ source: '/sys/fs/cgroup/pids/berth/fuzz', destination: `${destination}/pids` }], mounts: [] },
};

const host = (euid: number): RootlessHost => ({
  euid, egid: euid, user: 'fuzz', subuid: 'fuzz:100000:65536\n', subgid: 'fuzz:100000:65536\n',
  findTool: (n) => `/usr/bin/${n}`,
});

let compiled = 0;
let slowest = 0;

/** The whole pure start path; returns normally or throws one of our errors. */
function startPath(text: string, m: { mode: 'wait' | 'detach'; console: string; noPivot: boolean; preserveFds: number; cgroupns: boolean; euid: number }): void {
  const spec = parseSpec(text, { bundle });
  const idmapTools = planRootlessIdMaps(spec, host(m.euid));
  let seccompFlags = 0;
  if (spec.linux?.seccomp) {
    const c = compileSeccomp(spec.linux.seccomp, { nativeArch: 'x86_64' });
    assert.ok(c.program.length > 0 && c.program.length % 8 === 0);
    seccompFlags = c.flags;
  }
  const plan = compileCreate({
    spec, bundle, mode: m.mode,
    ...(m.mode === 'detach' ? { execFifo: join(bundle, 'state', 'exec.fifo') } : {}),
    ...(m.console === 'socket' ? { consoleSocket: join(bundle, 'console.sock') } : m.console === 'proxy' ? { consoleProxy: true } : {}),
    ...(m.noPivot ? { noPivot: true } : {}),
    ...(m.preserveFds ? { preserveFds: m.preserveFds } : {}),
    ...(m.euid === 0 ? { cgroup: { ...cgroup, mountPlan: (d: string) => cgroup.mountPlan(d, m.cgroupns) } } : {}),
    ...(spec.linux?.seccomp ? { seccomp: { file: join(bundle, 'prog.bpf'), flags: seccompFlags } } : {}),
    ...(idmapTools ? { idmapTools } : {}),
  });
  const wire = encodePlan(plan);
  assert.deepEqual(decodePlan(wire).map((o) => o[0]), plan.map((o) => o[0]));
  if (spec.process) {
    encodePlan(compileExec({
      process: spec.process, namespaces: [{ type: 'pid', path: '/proc/1/ns/pid' }], mode: m.mode, cgroupProcs: [], setgroups: !idmapTools?.setgroupsDeny,
      ...(m.console === 'socket' ? { consoleSocket: join(bundle, 'console.sock') } : m.console === 'proxy' ? { consoleProxy: true } : {}),
    }));
  }
  compiled++;
}

function returnsOrOurs(fn: () => void): boolean {
  const t0 = performance.now();
  try {
    fn();
    return true;
  } catch (e) {
    if (ours(e)) return true;
    throw e;
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
}

describe('the start path never fails other than with berth errors, and touches nothing', () => {
  let before0: string[] = [];
  before(() => {
    bundle = mkdtempSync(join(tmpdir(), 'berth-fuzz-'));
    mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true });
    mkdirSync(join(bundle, 'data'));
    writeFileSync(join(bundle, 'data', 'f'), 'x');
    before0 = snapshot(bundle);
  });
  after(() => {
    assert.deepEqual(snapshot(bundle), before0, 'the bundle directory changed');
    rmSync(bundle, { recursive: true, force: true });
  });

  it('on mutated valid specs (4000 cases)', () => {
    const start = compiled;
    fc.assert(
      fc.property(mutation, ({ base, edits, ...m }) => {
        const doc: Any = structuredClone(bases[base]!());
        for (const { slot, op, value } of edits) {
          const all = slots(doc);
          if (all.length === 0) break;
          const [container, key] = all[slot % all.length]!;
          if (op === 'delete') {
            if (Array.isArray(container)) container.splice(key as number, 1);
            else delete container[key];
          } else if (op === 'duplicate' && Array.isArray(container)) container.push(structuredClone(container[key as number]));
          // a copy: inserting the generated value itself could later nest it into itself (a cycle
          // JSON cannot encode, which is the test's problem, not the runtime's)
          else container[key] = structuredClone(value);
        }
        return returnsOrOurs(() => startPath(JSON.stringify(doc), m));
      }),
      { numRuns: 4000 },
    );
    // both outcomes must be exercised
    const n = compiled - start;
    assert.ok(n > 400 && n < 3900, `${n} of 4000 mutated specs compiled to a plan`);
  });

  it('on hostile seccomp profiles (wrong types, absurd sizes)', () => {
    const rule = fc.record({
      names: fc.oneof(fc.array(fc.constantFrom('read', 'write', 'ptrace', 'mount', 'nosuchcall', '', 'a\0b'), { maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })),
      action: fc.oneof(fc.constantFrom('SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'BOGUS'), fc.jsonValue({ maxDepth: 1 })),
      errnoRet: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.jsonValue({ maxDepth: 1 })),
      args: fc.oneof(
        fc.array(fc.record({ index: fc.integer({ min: -1, max: 7 }), value: fc.oneof(fc.nat(), fc.constant(2 ** 64), fc.constant(-1)), valueTwo: fc.nat(), op: fc.constantFrom('SCMP_CMP_EQ', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_GT', 'NOPE') }), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    }, { requiredKeys: ['names', 'action'] });
    const profile = fc.record({
      defaultAction: fc.oneof(fc.constantFrom('SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL', 'x'), fc.jsonValue({ maxDepth: 1 })),
      defaultErrnoRet: fc.oneof(fc.nat({ max: 5000 }), fc.jsonValue({ maxDepth: 1 })),
      architectures: fc.oneof(fc.array(fc.constantFrom('SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_NOPE')), fc.jsonValue({ maxDepth: 1 })),
      flags: fc.oneof(fc.array(fc.constantFrom('SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_NEW_LISTENER', 'NOPE')), fc.jsonValue({ maxDepth: 1 })),
      listenerPath: fc.constantFrom('/run/l.sock', '', 'rel'),
      syscalls: fc.oneof(fc.array(rule, { maxLength: 30 }), fc.jsonValue({ maxDepth: 2 })),
    }, { requiredKeys: ['defaultAction'] });
    fc.assert(
      fc.property(profile, fc.constantFrom<'wait' | 'detach'>('wait', 'detach'), (sc, mode) => {
        const doc: Any = defaultSpec({ cgroupNamespace: false });
        doc.linux.seccomp = sc;
        return returnsOrOurs(() => startPath(JSON.stringify(doc), { mode, console: 'none', noPivot: false, preserveFds: 0, cgroupns: false, euid: 0 }));
      }),
      { numRuns: 2000 },
    );
    // absurd sizes: a rule per syscall number on every architecture, 50000 names, huge errno and argument lists
    const huge: Any[] = [
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: Array.from({ length: 50000 }, (_, i) => `call${i}`), action: 'SCMP_ACT_ALLOW' }] },
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: Array.from({ length: 5000 }, (_, i) => ({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: (i % 4000) + 1, args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' }] })) },
      { defaultAction: 'SCMP_ACT_ERRNO', architectures: Array(1000).fill('SCMP_ARCH_X86'), syscalls: [] },
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: Array.from({ length: 100 }, (_, i) => ({ index: i % 6, value: i, op: 'SCMP_CMP_EQ' })) }] },
    ];
    for (const sc of huge) {
      const doc: Any = defaultSpec({ cgroupNamespace: false });
      doc.linux.seccomp = sc;
      const t0 = performance.now();
      assert.ok(returnsOrOurs(() => startPath(JSON.stringify(doc), { mode: 'wait', console: 'none', noPivot: false, preserveFds: 0, cgroupns: false, euid: 0 })));
      assert.ok(performance.now() - t0 < 5000, 'an absurd profile took more than 5 s');
    }
  });

  it('on id mappings of every shape, for root and for an unprivileged caller', () => {
    const map = fc.record({ containerID: fc.oneof(fc.nat({ max: 70000 }), fc.constant(2 ** 32 - 1)), hostID: fc.oneof(fc.nat({ max: 300000 }), fc.constant(1000)), size: fc.oneof(fc.nat({ max: 70000 }), fc.constant(2 ** 32)) });
    fc.assert(
      fc.property(fc.array(map, { maxLength: 6 }), fc.array(map, { maxLength: 6 }), fc.constantFrom(0, 1000), fc.boolean(), (uid, gid, euid, onMount) => {
        const doc: Any = defaultSpec({ cgroupNamespace: false });
        doc.linux.namespaces.push({ type: 'user' });
        if (onMount) doc.mounts.push({ destination: '/idm', type: 'bind', source: 'data', options: ['rbind', 'ridmap'], uidMappings: uid, gidMappings: gid });
        else Object.assign(doc.linux, { uidMappings: uid, gidMappings: gid });
        if (onMount) Object.assign(doc.linux, { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] });
        return returnsOrOurs(() => startPath(JSON.stringify(doc), { mode: 'wait', console: 'none', noPivot: false, preserveFds: 0, cgroupns: false, euid }));
      }),
      { numRuns: 2000 },
    );
  });

  it('is quick', () => {
    assert.ok(slowest < 2000, `slowest start path: ${slowest} ms`);
  });
});
