import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { defaultSpec } from '../../src/spec/default-spec.js';
import { SpecError } from '../../src/spec/errors.js';
import type { Spec } from '../../src/spec/types.js';
import {
  MAX_SPEC_DEPTH,
  MAX_SPEC_SIZE,
  parseBoundedJSON,
  parseProcess,
  parseSpec,
  sysctlName,
  sysctlPath,
  validateProcess,
  validateSpec,
} from '../../src/spec/validate.js';
import { exampleFullSpec as kitchenSink, exampleMinimalSpec as minimal } from '../../src/spec/examples.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function clone<T>(v: T): Any {
  return JSON.parse(JSON.stringify(v));
}

function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a SpecError, but nothing was thrown');
}

describe('parseSpec: valid configs', () => {
  it('accepts defaultSpec() and returns it unchanged', () => {
    for (const cgroupNamespace of [true, false]) {
      const spec = defaultSpec({ cgroupNamespace });
      assert.deepEqual(parseSpec(JSON.stringify(spec)), spec);
    }
  });

  it('accepts defaultSpec({ rootless: true }) for root and non-root callers', () => {
    for (const [hostUid, hostGid] of [
      [0, 0],
      [1000, 1000],
      [4294967294, 65534],
    ] as const) {
      const spec = defaultSpec({ rootless: true, hostUid, hostGid, cgroupNamespace: true });
      assert.deepEqual(parseSpec(JSON.stringify(spec)), spec);
    }
    assert.ok(parseSpec(JSON.stringify(defaultSpec({ rootless: true }))));
  });

  it('accepts a config using every field', () => {
    const text = JSON.stringify(kitchenSink());
    const spec = parseSpec(text);
    assert.deepEqual(spec, JSON.parse(text));
  });

  it('accepts minimal configs', () => {
    assert.deepEqual(parseSpec('{"ociVersion": "1.2.0"}'), { ociVersion: '1.2.0' });
    assert.deepEqual(parseSpec(JSON.stringify(minimal())), minimal());
  });

  it('accepts any 1.x SemVer ociVersion', () => {
    for (const v of ['1.0.0', '1.0.2-dev', '1.1.0-rc.3', '1.2.1', '1.3.0+dev', '1.0.0-rc5-dev']) {
      assert.equal(parseSpec(JSON.stringify({ ociVersion: v })).ociVersion, v);
    }
  });

  it('ignores unknown fields at any level and drops them from the result', () => {
    const s = clone(minimal());
    s.vm = { hypervisor: {} };
    s.windows = 1;
    s.future = [1, 2, 3];
    s.process.futureField = 'x';
    s.linux.netDevices = { eth0: { name: 'eth1' } };
    s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
    s.linux.namespaces[0].extra = true;
    assert.deepEqual(parseSpec(JSON.stringify(s)), minimal());
  });

  it('treats null optional fields as absent', () => {
    const s = clone(minimal());
    s.mounts = null;
    s.hooks = null;
    s.process.env = null;
    s.process.capabilities = { bounding: null };
    s.linux.resources = null;
    const out = parseSpec(JSON.stringify(s));
    assert.equal('mounts' in out, false);
    assert.equal('env' in out.process!, false);
    assert.deepEqual(out.process!.capabilities, {});
  });

  it('keeps "__proto__" map keys as plain data', () => {
    const out = parseSpec('{"ociVersion":"1.2.0","annotations":{"__proto__":"x","a":"b"}}');
    assert.equal(Object.getPrototypeOf(out.annotations), Object.prototype);
    assert.deepEqual(Object.keys(out.annotations!), ['__proto__', 'a']);
    assert.equal(Object.getOwnPropertyDescriptor(out.annotations, '__proto__')?.value, 'x');
  });

  it('accepts 2^64-1 (RLIM_INFINITY) for uint64 fields, read as 2^64', () => {
    const text =
      '{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/",' +
      '"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}]}}';
    assert.equal(parseSpec(text).process!.rlimits![0]!.hard, 2 ** 64);
  });

  it('tolerates a byte order mark', () => {
    assert.equal(parseSpec('\ufeff{"ociVersion":"1.2.0"}').ociVersion, '1.2.0');
  });

  it('validateSpec() checks an already-parsed object', () => {
    assert.deepEqual(validateSpec(minimal()), minimal());
    assert.match(specError(() => validateSpec({})).message, /^config\.json: ociVersion: is required/);
  });

  it('is fast (a full config in well under a millisecond)', () => {
    const text = JSON.stringify(kitchenSink());
    // Best of several rounds, so a loaded machine does not make this flaky (~0.1-0.3 ms when idle).
    let best = Infinity;
    for (let round = 0; round < 10; round++) {
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) parseSpec(text);
      best = Math.min(best, (performance.now() - t0) / 100);
    }
    assert.ok(best < 2, `parseSpec took ${best} ms per call`);
  });
});

describe('parseSpec: errors name the file and the field', () => {
  it('uses the bundle path in the file name', () => {
    const e = specError(() => parseSpec('{}', { bundle: '/run/b/' }));
    assert.equal(e.message, '/run/b/config.json: ociVersion: is required (the runtime spec version, e.g. "1.2.0")');
    assert.equal(e.file, '/run/b/config.json');
    assert.equal(e.field, 'ociVersion');
  });

  it('gives the exact message for an unknown namespace', () => {
    const s = defaultSpec({ cgroupNamespace: false });
    s.linux!.namespaces![2]!.type = 'netwrk' as Any;
    assert.equal(
      specError(() => parseSpec(JSON.stringify(s))).message,
      'config.json: linux.namespaces[2].type: unknown namespace "netwrk" ' +
        '(expected one of: pid, network, mount, ipc, uts, user, cgroup, time)',
    );
  });

  it('rejects documents that are not JSON objects', () => {
    for (const text of ['[]', 'null', '"x"', '42', 'true']) {
      const e = specError(() => parseSpec(text));
      assert.equal(e.field, '');
      assert.match(e.message, /^config\.json: must be an object/);
    }
    assert.match(specError(() => parseSpec('{"ociVersion": "1.2.0",}')).message, /^config\.json: invalid JSON: /);
    assert.match(specError(() => parseSpec('')).message, /invalid JSON/);
    assert.match(specError(() => parseSpec(undefined as Any)).message, /expected the JSON text as a string/);
  });

  it('rejects input that is too large or too deeply nested before parsing it', () => {
    assert.match(specError(() => parseSpec(' '.repeat(MAX_SPEC_SIZE + 1))).message, /file too large/);
    const deep = `{"ociVersion":"1.2.0","x":${'['.repeat(MAX_SPEC_DEPTH)}${']'.repeat(MAX_SPEC_DEPTH)}}`;
    assert.match(specError(() => parseSpec(deep)).message, /nesting deeper than 64 levels/);
    // Brackets inside strings do not count, escaped quotes do not end strings.
    const inString = `{"ociVersion":"1.2.0","x":"\\"${'['.repeat(1000)}"}`;
    assert.equal(parseSpec(inString).ociVersion, '1.2.0');
    assert.deepEqual(parseBoundedJSON('[[1]]'), [[1]]);
  });

  type Case = [string, (s: Any) => void, string, RegExp | string, (() => Any)?];
  const m = minimal;
  const cases: Case[] = [
    // top level
    ['missing ociVersion', (s) => delete s.ociVersion, 'ociVersion', 'is required'],
    ['ociVersion of wrong type', (s) => (s.ociVersion = 1), 'ociVersion', 'must be a string, got number 1'],
    ['ociVersion 2.x', (s) => (s.ociVersion = '2.0.0'), 'ociVersion', 'unsupported ociVersion "2.0.0"'],
    ['ociVersion not SemVer', (s) => (s.ociVersion = 'v1.2'), 'ociVersion', 'SemVer'],
    ['root missing path', (s) => (s.root = { readonly: true }), 'root.path', 'is required'],
    ['root.path empty', (s) => (s.root.path = ''), 'root.path', 'must not be empty'],
    ['root.readonly not bool', (s) => (s.root.readonly = 'yes'), 'root.readonly', 'must be true or false, got string "yes"'],
    ['root not an object', (s) => (s.root = []), 'root', 'must be an object, got an array'],
    ['hostname without UTS namespace', (s) => (s.hostname = 'h'), 'hostname', 'UTS namespace'],
    ['domainname without UTS namespace', (s) => (s.domainname = 'd'), 'domainname', 'UTS namespace'],
    ['hostname too long', (s) => (s.hostname = 'h'.repeat(65)), 'hostname', 'longer than 64'],
    ['hostname not a string', (s) => (s.hostname = 5), 'hostname', 'must be a string'],
    ['annotation not a string', (s) => (s.annotations['io.berth.x'] = 1), 'annotations["io.berth.x"]', 'must be a string', kitchenSink],
    // mounts
    ['relative mount destination', (s) => (s.mounts[1].destination = 'data'), 'mounts[1].destination', 'must be an absolute path, got "data" (did you mean "/data"?)', kitchenSink],
    ['mount destination with ..', (s) => (s.mounts[1].destination = '/a/../etc'), 'mounts[1].destination', '".." components', kitchenSink],
    ['mount destination missing', (s) => delete s.mounts[0].destination, 'mounts[0].destination', 'is required', kitchenSink],
    ['mount destination not a string', (s) => (s.mounts[0].destination = ['/x']), 'mounts[0].destination', 'must be a string', kitchenSink],
    ['empty mount option', (s) => (s.mounts[1].options = ['']), 'mounts[1].options[0]', 'must not be empty', kitchenSink],
    ['mount option not a string', (s) => (s.mounts[1].options = ['ro', 3]), 'mounts[1].options[1]', 'must be a string', kitchenSink],
    ['mount option with NUL', (s) => (s.mounts[1].options = ['a\0b']), 'mounts[1].options[0]', 'NUL', kitchenSink],
    ['mount source with NUL', (s) => (s.mounts[1].source = '/a\0b'), 'mounts[1].source', 'NUL', kitchenSink],
    ['mount uidMappings without gidMappings', (s) => delete s.mounts[2].gidMappings, 'mounts[2].gidMappings', 'give both', kitchenSink],
    ['mount mapping of size 0', (s) => (s.mounts[2].uidMappings[0].size = 0), 'mounts[2].uidMappings[0].size', 'at least 1', kitchenSink],
    ['idmap mount without mappings or userns', (s) => (s.mounts = [{ destination: '/x', source: '/y', options: ['bind', 'idmap'] }]), 'mounts[0].options', 'idmap', m],
    ['mounts not an array', (s) => (s.mounts = {}), 'mounts', 'must be an array, got an object'],
    // process
    ['relative cwd', (s) => (s.process.cwd = 'home'), 'process.cwd', 'must be an absolute path'],
    ['missing cwd', (s) => delete s.process.cwd, 'process.cwd', 'is required'],
    ['missing user', (s) => delete s.process.user, 'process.user', 'is required'],
    ['missing uid', (s) => delete s.process.user.uid, 'process.user.uid', 'is required'],
    ['missing gid', (s) => (s.process.user = { uid: 0 }), 'process.user.gid', 'is required'],
    ['negative uid', (s) => (s.process.user.uid = -1), 'process.user.uid', 'range 0..4294967295 (uint32), got -1'],
    ['fractional gid', (s) => (s.process.user.gid = 1.5), 'process.user.gid', 'got 1.5'],
    ['uid above uint32', (s) => (s.process.user.uid = 4294967296), 'process.user.uid', 'uint32'],
    ['uid as a string', (s) => (s.process.user.uid = '0'), 'process.user.uid', 'must be an integer (uint32), got string "0"'],
    ['umask too large', (s) => (s.process.user.umask = 0o10000), 'process.user.umask', 'from 0 to 4095'],
    ['additionalGids entry', (s) => (s.process.user.additionalGids = [1, -5]), 'process.user.additionalGids[1]', 'uint32'],
    ['empty args', (s) => (s.process.args = []), 'process.args', 'at least one entry'],
    ['missing args', (s) => delete s.process.args, 'process.args', 'is required'],
    ['empty command', (s) => (s.process.args = ['']), 'process.args[0]', 'must not be empty'],
    ['env entry without =', (s) => (s.process.env = ['PATH=/bin', 'FOO']), 'process.env[1]', 'missing "="'],
    ['env entry with empty name', (s) => (s.process.env = ['=x']), 'process.env[0]', 'empty variable name'],
    ['unknown capability', (s) => (s.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_NET_ADMINN'] }), 'process.capabilities.bounding[1]', 'unknown capability "CAP_NET_ADMINN"'],
    ['capability without CAP_ prefix', (s) => (s.process.capabilities = { ambient: ['net_admin'] }), 'process.capabilities.ambient[0]', 'did you mean "CAP_NET_ADMIN"?'],
    ['capability set not an array', (s) => (s.process.capabilities = { effective: 'CAP_CHOWN' }), 'process.capabilities.effective', 'must be an array'],
    ['inheritable capability', (s) => (s.process.capabilities = { inheritable: ['CAP_BOGUS'] }), 'process.capabilities.inheritable[0]', 'unknown capability'],
    ['permitted capability', (s) => (s.process.capabilities = { permitted: [7] }), 'process.capabilities.permitted[0]', 'must be a string'],
    ['unknown rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILES', hard: 1, soft: 1 }]), 'process.rlimits[0].type', 'unknown rlimit "RLIMIT_NOFILES" (expected one of: RLIMIT_CPU'],
    ['rlimit without prefix', (s) => (s.process.rlimits = [{ type: 'nofile', hard: 1, soft: 1 }]), 'process.rlimits[0].type', 'did you mean "RLIMIT_NOFILE"?'],
    ['rlimit soft above hard', (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 4096 }]), 'process.rlimits[0].soft', 'above the hard limit'],
    ['duplicate rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_AS', hard: 1, soft: 1 }, { type: 'RLIMIT_AS', hard: 2, soft: 2 }]), 'process.rlimits[1].type', 'duplicate rlimit "RLIMIT_AS" (already set at process.rlimits[0])'],
    ['negative rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_AS', hard: -1, soft: 1 }]), 'process.rlimits[0].hard', 'uint64'],
    ['rlimit missing soft', (s) => (s.process.rlimits = [{ type: 'RLIMIT_AS', hard: 1 }]), 'process.rlimits[0].soft', 'is required'],
    ['oomScoreAdj out of range', (s) => (s.process.oomScoreAdj = 1001), 'process.oomScoreAdj', 'from -1000 to 1000'],
    ['unknown ioPriority class', (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_X', priority: 0 }), 'process.ioPriority.class', 'unknown I/O priority class'],
    ['ioPriority out of range', (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), 'process.ioPriority.priority', 'from 0 to 7'],
    ['unknown scheduler policy', (s) => (s.process.scheduler = { policy: 'SCHED_X' }), 'process.scheduler.policy', 'unknown scheduler policy'],
    ['scheduler nice out of range', (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: -21 }), 'process.scheduler.nice', '-20 to 19'],
    ['scheduler priority for SCHED_OTHER', (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', priority: 10 }), 'process.scheduler.priority', 'SCHED_FIFO or SCHED_RR'],
    ['scheduler runtime for SCHED_RR', (s) => (s.process.scheduler = { policy: 'SCHED_RR', priority: 1, runtime: 5 }), 'process.scheduler.runtime', 'SCHED_DEADLINE'],
    ['unknown scheduler flag', (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', flags: ['X'] }), 'process.scheduler.flags[0]', 'unknown scheduler flag'],
    ['reversed CPU range', (s) => (s.process.execCPUAffinity = { initial: '3-1' }), 'process.execCPUAffinity.initial', 'N <= M'],
    ['garbage CPU list', (s) => (s.process.execCPUAffinity = { final: '0,a' }), 'process.execCPUAffinity.final', 'invalid CPU list'],
    ['console too wide', (s) => (s.process.consoleSize = { height: 1, width: 70000 }), 'process.consoleSize.width', 'from 0 to 65535'],
    ['console missing height', (s) => (s.process.consoleSize = { width: 70 }), 'process.consoleSize.height', 'is required'],
    ['terminal as a string', (s) => (s.process.terminal = 'true'), 'process.terminal', 'must be true or false'],
    ['process not an object', (s) => (s.process = 'sh'), 'process', 'must be an object'],
    // hooks
    ['relative hook path', (s) => (s.hooks = { prestart: [{ path: 'hook' }] }), 'hooks.prestart[0].path', 'hook path must be an absolute path'],
    ['hook timeout 0', (s) => (s.hooks.poststop[0].timeout = 0), 'hooks.poststop[0].timeout', 'from 1 to', kitchenSink],
    ['hook env without =', (s) => (s.hooks.createRuntime[0].env = ['X']), 'hooks.createRuntime[0].env[0]', 'missing "="', kitchenSink],
    ['hook args not strings', (s) => (s.hooks.createRuntime[0].args = [1]), 'hooks.createRuntime[0].args[0]', 'must be a string', kitchenSink],
    ['hooks not an object', (s) => (s.hooks = []), 'hooks', 'must be an object'],
    // namespaces
    ['duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[8].type', 'duplicate namespace "pid" (already listed at linux.namespaces[0])', kitchenSink],
    ['relative namespace path', (s) => (s.linux.namespaces[1].path = 'run/netns/x'), 'linux.namespaces[1].path', 'namespace path must be an absolute path', kitchenSink],
    ['namespace without type', (s) => (s.linux.namespaces = [{ path: '/proc/1/ns/net' }]), 'linux.namespaces[0].type', 'is required (expected one of: pid'],
    ['namespaces not an array', (s) => (s.linux.namespaces = 'pid'), 'linux.namespaces', 'must be an array'],
    // id mappings
    ['overlapping container ranges', (s) => (s.linux.uidMappings[1].containerID = 999), 'linux.uidMappings[1]', 'container id range 999-999 overlaps linux.uidMappings[0] (0-999)', kitchenSink],
    ['overlapping host ranges', (s) => (s.linux.uidMappings[1].hostID = 100500), 'linux.uidMappings[1]', 'host id range', kitchenSink],
    ['mapping of size 0', (s) => (s.linux.gidMappings[0].size = 0), 'linux.gidMappings[0].size', 'at least 1', kitchenSink],
    ['mapping past 2^32', (s) => (s.linux.gidMappings = [{ containerID: 0, hostID: 4294967295, size: 2 }]), 'linux.gidMappings[0]', 'goes past 4294967295', kitchenSink],
    ['mapping missing hostID', (s) => delete s.linux.gidMappings[0].hostID, 'linux.gidMappings[0].hostID', 'is required', kitchenSink],
    ['root not mapped', (s) => (s.linux.gidMappings = [{ containerID: 1, hostID: 100000, size: 65535 }]), 'linux.gidMappings', 'gid 0 (root) must be mapped', kitchenSink],
    ['user namespace without mappings', (s) => delete s.linux.uidMappings, 'linux.uidMappings', 'needs uidMappings', kitchenSink],
    ['user namespace with empty mappings', (s) => (s.linux.gidMappings = []), 'linux.gidMappings', 'needs gidMappings', kitchenSink],
    ['mappings without user namespace', (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), 'linux.uidMappings', 'need a user namespace'],
    ['process uid not mapped', (s) => (s.process.user.uid = 70000), 'process.user.uid', 'not mapped', kitchenSink],
    ['additional gid not mapped', (s) => (s.process.user.additionalGids = [5, 65536]), 'process.user.additionalGids[1]', 'not mapped', kitchenSink],
    ['too many mappings', (s) => (s.linux.gidMappings = Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 100000 + i, size: 1 }))), 'linux.gidMappings', 'at most 340', kitchenSink],
    // time namespace
    ['unknown clock', (s) => (s.linux.timeOffsets.realtime = { secs: 1 }), 'linux.timeOffsets.realtime', 'unknown clock "realtime" (expected one of: monotonic, boottime)', kitchenSink],
    ['timeOffsets without time namespace', (s) => (s.linux.timeOffsets = { monotonic: { secs: 1 } }), 'linux.timeOffsets', 'need a time namespace'],
    ['timeOffsets when joining a time namespace', (s) => (s.linux.namespaces[7].path = '/proc/1/ns/time'), 'linux.timeOffsets', 'joining an existing time namespace', kitchenSink],
    ['nanosecs of a second or more', (s) => (s.linux.timeOffsets.boottime.nanosecs = 1e9), 'linux.timeOffsets.boottime.nanosecs', 'less than one second', kitchenSink],
    // sysctl
    ['sysctl name with ..', (s) => (s.linux.sysctl = { 'net.ipv4/../../x': '1' }), 'linux.sysctl["net.ipv4/../../x"]', 'invalid sysctl name', kitchenSink],
    ['sysctl path escaping /proc/sys', (s) => (s.linux.sysctl = { '../../etc/passwd': 'x' }), 'linux.sysctl["../../etc/passwd"]', 'invalid sysctl name', kitchenSink],
    ['sysctl with leading slash', (s) => (s.linux.sysctl = { '/net/ipv4/ip_forward': '1' }), 'linux.sysctl["/net/ipv4/ip_forward"]', 'invalid sysctl name', kitchenSink],
    ['sysctl with empty part', (s) => (s.linux.sysctl = { 'net..ipv4': '1' }), 'linux.sysctl["net..ipv4"]', 'invalid sysctl name', kitchenSink],
    ['sysctl not namespaced', (s) => (s.linux.sysctl = { 'kernel.panic': '1' }), 'linux.sysctl["kernel.panic"]', 'not namespaced', kitchenSink],
    ['net sysctl without network namespace', (s) => (s.linux.sysctl = { 'net.core.somaxconn': '1' }), 'linux.sysctl["net.core.somaxconn"]', 'network namespace'],
    ['ipc sysctl without IPC namespace', (s) => (s.linux.sysctl = { 'kernel/shmmax': '1' }), 'linux.sysctl["kernel/shmmax"]', 'IPC namespace'],
    ['kernel.hostname sysctl', (s) => (s.linux.sysctl = { 'kernel.hostname': 'x' }), 'linux.sysctl["kernel.hostname"]', '"hostname" field', kitchenSink],
    ['user sysctl without user namespace', (s) => (s.linux.sysctl = { 'user.max_user_namespaces': '0' }), 'linux.sysctl["user.max_user_namespaces"]', 'user namespace'],
    ['sysctl value not a string', (s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': 1 }), 'linux.sysctl["net.ipv4.ip_forward"]', 'must be a string', kitchenSink],
    // devices
    ['relative device path', (s) => (s.linux.devices[0].path = 'dev/fuse'), 'linux.devices[0].path', 'did you mean "/dev/fuse"?', kitchenSink],
    ['device path with ..', (s) => (s.linux.devices[0].path = '/dev/../etc/shadow'), 'linux.devices[0].path', '".." components', kitchenSink],
    ['unknown device type', (s) => (s.linux.devices[0].type = 'x'), 'linux.devices[0].type', 'unknown device type "x"', kitchenSink],
    ['device without major', (s) => delete s.linux.devices[1].major, 'linux.devices[1].major', 'required for device type "b"', kitchenSink],
    ['device with regular-file mode bits', (s) => (s.linux.devices[0].fileMode = 0o100666), 'linux.devices[0].fileMode', 'permission bits', kitchenSink],
    ['device mode bits of another type', (s) => (s.linux.devices[1].fileMode = 0o20660), 'linux.devices[1].fileMode', 'permission bits', kitchenSink],
    ['device uid negative', (s) => (s.linux.devices[0].uid = -1), 'linux.devices[0].uid', 'uint32', kitchenSink],
    // resources
    ['device rule with bad access', (s) => (s.linux.resources.devices[1].access = 'rwx'), 'linux.resources.devices[1].access', 'combination of "r", "w" and "m"', kitchenSink],
    ['device rule with empty access', (s) => (s.linux.resources.devices[1].access = ''), 'linux.resources.devices[1].access', 'non-empty', kitchenSink],
    ['device rule with bad type', (s) => (s.linux.resources.devices[1].type = 'u'), 'linux.resources.devices[1].type', 'unknown device cgroup type', kitchenSink],
    ['device rule without allow', (s) => delete s.linux.resources.devices[0].allow, 'linux.resources.devices[0].allow', 'is required', kitchenSink],
    ['memory limit below -1', (s) => (s.linux.resources.memory.limit = -2), 'linux.resources.memory.limit', '-1 (unlimited)', kitchenSink],
    ['swap below memory limit', (s) => (s.linux.resources.memory.swap = 1024), 'linux.resources.memory.swap', 'below the memory limit', kitchenSink],
    ['swappiness above 100', (s) => (s.linux.resources.memory.swappiness = 101), 'linux.resources.memory.swappiness', 'from 0 to 100', kitchenSink],
    ['bad cpuset', (s) => (s.linux.resources.cpu.cpus = '0-'), 'linux.resources.cpu.cpus', 'invalid CPU list', kitchenSink],
    ['cpu idle 2', (s) => (s.linux.resources.cpu.idle = 2), 'linux.resources.cpu.idle', 'from 0 to 1', kitchenSink],
    ['cpu burst above quota', (s) => (s.linux.resources.cpu.burst = 60000), 'linux.resources.cpu.burst', 'larger than quota', kitchenSink],
    ['cpu shares negative', (s) => (s.linux.resources.cpu.shares = -1), 'linux.resources.cpu.shares', 'uint64', kitchenSink],
    ['pids without limit', (s) => (s.linux.resources.pids = {}), 'linux.resources.pids.limit', 'is required', kitchenSink],
    ['blkio weight above uint16', (s) => (s.linux.resources.blockIO.weight = 70000), 'linux.resources.blockIO.weight', 'uint16', kitchenSink],
    ['weightDevice without weights', (s) => (s.linux.resources.blockIO.weightDevice = [{ major: 8, minor: 0 }]), 'linux.resources.blockIO.weightDevice[0]', 'weight or leafWeight', kitchenSink],
    ['throttle without rate', (s) => delete s.linux.resources.blockIO.throttleReadIOPSDevice[0].rate, 'linux.resources.blockIO.throttleReadIOPSDevice[0].rate', 'is required', kitchenSink],
    ['bad hugepage size', (s) => (s.linux.resources.hugepageLimits[0].pageSize = '2M'), 'linux.resources.hugepageLimits[0].pageSize', '"2MB"', kitchenSink],
    ['empty rdma entry', (s) => (s.linux.resources.rdma.mlx5_1 = {}), 'linux.resources.rdma.mlx5_1', 'hcaHandles or hcaObjects', kitchenSink],
    ['unified key with a slash', (s) => (s.linux.resources.unified = { '../../cgroup.procs': '1' }), 'linux.resources.unified["../../cgroup.procs"]', 'plain file name', kitchenSink],
    ['network priority without name', (s) => (s.linux.resources.network.priorities = [{ priority: 1 }]), 'linux.resources.network.priorities[0].name', 'is required', kitchenSink],
    // seccomp
    ['seccomp without defaultAction', (s) => delete s.linux.seccomp.defaultAction, 'linux.seccomp.defaultAction', 'is required', kitchenSink],
    ['unknown seccomp action', (s) => (s.linux.seccomp.syscalls[0].action = 'SCMP_ACT_FOO'), 'linux.seccomp.syscalls[0].action', 'unknown seccomp action "SCMP_ACT_FOO"', kitchenSink],
    ['syscall rule without names', (s) => (s.linux.seccomp.syscalls[0].names = []), 'linux.seccomp.syscalls[0].names', 'at least one syscall', kitchenSink],
    ['errnoRet with SCMP_ACT_ALLOW', (s) => (s.linux.seccomp.syscalls[0].errnoRet = 1), 'linux.seccomp.syscalls[0].errnoRet', 'only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE', kitchenSink],
    ['defaultErrnoRet with SCMP_ACT_KILL', (s) => (s.linux.seccomp.defaultAction = 'SCMP_ACT_KILL'), 'linux.seccomp.defaultErrnoRet', 'only valid with', kitchenSink],
    ['seccomp arg index 6', (s) => (s.linux.seccomp.syscalls[2].args[0].index = 6), 'linux.seccomp.syscalls[2].args[0].index', 'six arguments', kitchenSink],
    ['seccomp arg imprecise value', (s) => (s.linux.seccomp.syscalls[2].args[0].value = 2 ** 60), 'linux.seccomp.syscalls[2].args[0].value', 'cannot be read exactly', kitchenSink],
    ['unknown seccomp operator', (s) => (s.linux.seccomp.syscalls[2].args[0].op = 'SCMP_CMP_XX'), 'linux.seccomp.syscalls[2].args[0].op', 'unknown seccomp operator', kitchenSink],
    ['unknown seccomp arch', (s) => (s.linux.seccomp.architectures = ['SCMP_ARCH_Z80']), 'linux.seccomp.architectures[0]', 'unknown seccomp architecture', kitchenSink],
    ['unknown seccomp flag', (s) => (s.linux.seccomp.flags = ['SECCOMP_FILTER_FLAG_NEW_LISTENER']), 'linux.seccomp.flags[0]', 'unknown seccomp flag', kitchenSink],
    ['listenerMetadata without listenerPath', (s) => { delete s.linux.seccomp.listenerPath; s.linux.seccomp.syscalls.splice(4, 1); }, 'linux.seccomp.listenerMetadata', 'without listenerPath', kitchenSink],
    ['SCMP_ACT_NOTIFY without listenerPath', (s) => { delete s.linux.seccomp.listenerPath; delete s.linux.seccomp.listenerMetadata; }, 'linux.seccomp.syscalls[4]', 'listenerPath', kitchenSink],
    ['SCMP_ACT_NOTIFY as default', (s) => { s.linux.seccomp.defaultAction = 'SCMP_ACT_NOTIFY'; delete s.linux.seccomp.defaultErrnoRet; }, 'linux.seccomp.defaultAction', 'cannot be the default action', kitchenSink],
    // the rest of linux
    ['unknown rootfsPropagation', (s) => (s.linux.rootfsPropagation = 'bogus'), 'linux.rootfsPropagation', 'unknown rootfs propagation', kitchenSink],
    ['relative masked path', (s) => (s.linux.maskedPaths = ['proc/kcore']), 'linux.maskedPaths[0]', 'masked path must be an absolute path', kitchenSink],
    ['read-only path with ..', (s) => (s.linux.readonlyPaths = ['/proc/../etc']), 'linux.readonlyPaths[0]', '".." components', kitchenSink],
    ['closID escaping resctrl', (s) => (s.linux.intelRdt.closID = '../x'), 'linux.intelRdt.closID', 'plain directory name', kitchenSink],
    ['memBwSchema without MB:', (s) => (s.linux.intelRdt.memBwSchema = 'L3:0=1'), 'linux.intelRdt.memBwSchema', 'must start with "MB:"', kitchenSink],
    ['unknown personality domain', (s) => (s.linux.personality.domain = 'LINUX64'), 'linux.personality.domain', 'unknown personality domain', kitchenSink],
    ['cgroupsPath with ..', (s) => (s.linux.cgroupsPath = '/../../escape'), 'linux.cgroupsPath', '".." components', kitchenSink],
    ['systemd cgroupsPath with ..', (s) => (s.linux.cgroupsPath = 'system.slice:..:x'), 'linux.cgroupsPath', '".." components', kitchenSink],
    ['linux not an object', (s) => (s.linux = true), 'linux', 'must be an object, got boolean true'],
  ];

  for (const [name, mutate, field, fragment, base = m] of cases) {
    it(`rejects: ${name}`, () => {
      const s = clone(base());
      mutate(s);
      const e = specError(() => parseSpec(JSON.stringify(s)));
      assert.equal(e.field, field, `wrong field in: ${e.message}`);
      assert.ok(e.message.startsWith(`config.json: ${field}: `), e.message);
      if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), `"${fragment}" not in: ${e.message}`);
      else assert.match(e.message, fragment);
    });
  }
});

describe('validateProcess / parseProcess (berth-oci exec --process)', () => {
  const good = () => ({ user: { uid: 0, gid: 0 }, args: ['ls', '-l'], cwd: '/', env: ['A=b'], terminal: false });

  it('accepts a process object', () => {
    assert.deepEqual(validateProcess(good(), 'process.json'), good());
    assert.deepEqual(parseProcess(JSON.stringify(good())), good());
  });

  it('reports paths relative to the process object, under the given file name', () => {
    const p: Any = good();
    p.user.uid = 'root';
    const e = specError(() => validateProcess(p, '/tmp/p.json'));
    assert.equal(e.field, 'user.uid');
    assert.match(e.message, /^\/tmp\/p\.json: user\.uid: must be an integer \(uint32\)/);
    assert.match(specError(() => validateProcess([], 'p.json')).message, /^p\.json: must be an object/);
    assert.match(specError(() => parseProcess('{"cwd": "/"}', 'x.json')).message, /^x\.json: user: is required/);
    assert.match(specError(() => parseProcess('[[[', 'x.json')).message, /^x\.json: invalid JSON/);
  });
});

describe('sysctlPath / sysctlName', () => {
  it('maps dotted and slashed keys to the same /proc/sys path', () => {
    assert.equal(sysctlPath('net.ipv4.ip_forward'), 'net/ipv4/ip_forward');
    assert.equal(sysctlPath('net/ipv4/ip_forward'), 'net/ipv4/ip_forward');
    assert.equal(sysctlPath('net.ipv4.conf.eth0/100.rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
    assert.equal(sysctlPath('net/ipv4/conf/eth0.100/rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
    assert.equal(sysctlName('net/ipv4/conf/eth0.100/rp_filter'), 'net.ipv4.conf.eth0/100.rp_filter');
    assert.equal(sysctlName('kernel/shmmax'), 'kernel.shmmax');
  });

  it('rejects keys that would leave /proc/sys', () => {
    for (const key of ['', '.', '..', '../x', 'a/../../b', 'a..b', '/a', 'a.', 'a/', 'a.//.b', 'x\0y', 'net.//']) {
      assert.equal(sysctlPath(key), undefined, key);
    }
  });
});

describe('defaultSpec round trip through the validator keeps types', () => {
  it('returns a fresh object (no aliasing with the input)', () => {
    const spec: Spec = defaultSpec({ cgroupNamespace: true });
    const parsed = validateSpec(spec);
    assert.notEqual(parsed, spec);
    assert.notEqual(parsed.process, spec.process);
    assert.deepEqual(parsed, spec);
  });
});
