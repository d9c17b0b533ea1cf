// Bad input on run/create/update, checked against docker's own messages (docker CLI 28 for the
// flag errors, moby's daemon for the rest): sizes, ulimits, sysctls, labels, env, --mount,
// cpusets, --cpus, CPU shares, capabilities and seccomp profile files.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkCreateFlags, sysctlAllowed } from '../../src/cli/berth/create-flag-checks.js';
import { UsageError, type Flags } from '../../src/cli/berth/flags.js';
import { isEngineError } from '../../src/engine/errors.js';
import { goOpenError } from '../../src/engine/go-errors.js';
import { normalizeCreate } from '../../src/engine/options.js';
import { adaptCpuShares, checkCpuset, checkNanoCpus, checkUpdatedResources, cpuList } from '../../src/engine/resource-checks.js';
import { buildSpec, capabilities } from '../../src/engine/spec.js';
import { parseMountFlag, parseRestartPolicy, parseSize, parseUlimit, parseVolumeFlag } from '../../src/engine/units.js';
import { volumeNameError } from '../../src/engine/volume-names.js';

const invalidAs = (re: RegExp) => (e: unknown) => isEngineError(e, 'invalid') && re.test(e.message);

test("sizes: go-units 0.5's parse and messages (docker 28)", () => {
  assert.equal(parseSize('64m'), 64 * 1024 ** 2);
  assert.equal(parseSize('64 MiB'), 64 * 1024 ** 2);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('512kb'), 512 * 1024);
  assert.equal(parseSize('100b'), 100);
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('1e3'), 1000);
  for (const [v, re] of [
    ['12x', /^invalid suffix: 'x'$/],
    ['12X', /^invalid suffix: 'x'$/],
    ['12mx', /^invalid suffix: 'mx'$/],
    ['12mbb', /^invalid suffix: 'mbb'$/],
    ['12bytes', /^invalid suffix: 'bytes'$/],
    ['-1', /^invalid size: '-1'$/],
    ['abc', /^invalid size: 'abc'$/],
    ['', /^invalid size: ''$/],
    ['1.2.3m', /^strconv\.ParseFloat: parsing "1\.2\.3": invalid syntax$/],
  ] as const) {
    assert.throws(() => parseSize(v), invalidAs(re), v);
  }
});

test("ulimits: go-units' ParseUlimit messages", () => {
  assert.deepEqual(parseUlimit('nofile=100:200'), { Name: 'nofile', Soft: 100, Hard: 200 });
  assert.deepEqual(parseUlimit('core=-1'), { Name: 'core', Soft: -1, Hard: -1 });
  assert.throws(() => parseUlimit('nofile=bad'), invalidAs(/^strconv\.ParseInt: parsing "bad": invalid syntax$/));
  assert.throws(() => parseUlimit('nofile=1:x'), invalidAs(/^strconv\.ParseInt: parsing "x": invalid syntax$/));
  assert.throws(() => parseUlimit('nosuch=1'), invalidAs(/^invalid ulimit type: nosuch$/));
  assert.throws(() => parseUlimit('nofile'), invalidAs(/^invalid ulimit argument: nofile$/));
  assert.throws(() => parseUlimit('nofile=1:2:3'), invalidAs(/^too many limit value arguments - 1:2:3, can only have up to two, `soft\[:hard\]`$/));
  assert.throws(() => parseUlimit('nofile=10:5'), invalidAs(/^ulimit soft limit must be less than or equal to hard limit: 10 > 5$/));
});

test("the docker CLI's own refusals on run/create: flag errors, exit 125", () => {
  const refused = (f: Flags, message: string) =>
    assert.throws(() => checkCreateFlags(f), (e) => e instanceof UsageError && e.message === message, JSON.stringify(f));
  refused({ label: ['=x'] }, 'invalid argument "=x" for "-l, --label" flag: invalid label \'=x\': empty name');
  refused({ label: [''] }, 'invalid argument "" for "-l, --label" flag: invalid label \'\': empty name');
  refused({ label: [' =x'] }, 'invalid argument " =x" for "-l, --label" flag: invalid label \' =x\': empty name');
  refused({ env: ['=x'] }, 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x');
  refused({ sysctl: ['kernel.foo=1'] }, 'invalid argument "kernel.foo=1" for "--sysctl" flag: sysctl \'kernel.foo=1\' is not allowed');
  refused({ sysctl: ['net.ipv4.ip_forward'] }, 'invalid argument "net.ipv4.ip_forward" for "--sysctl" flag: sysctl \'net.ipv4.ip_forward\' is not allowed');
  refused({ ulimit: ['nofile=bad'] }, 'invalid argument "nofile=bad" for "--ulimit" flag: strconv.ParseInt: parsing "bad": invalid syntax');
  refused({ ulimit: ['nosuch=1'] }, 'invalid argument "nosuch=1" for "--ulimit" flag: invalid ulimit type: nosuch');
  refused({ mount: ['type=bind'] }, 'invalid argument "type=bind" for "--mount" flag: target is required');
  // what docker's CLI lets through (its daemon, or berth's engine, judges them)
  checkCreateFlags({ label: ['a', 'a=', 'a=b=c'], env: ['FOO', 'A='], sysctl: ['net.ipv4.ip_forward=1', 'kernel.shmmax=1', 'fs.mqueue.msg_max=10'] });
  checkCreateFlags({ mount: ['type=bind,target=/x', 'type=nope,target=/x'], ulimit: ['nofile=10:20'] });
  assert.equal(sysctlAllowed('kernel.domainname=x'), false); // docker's CLI list, not the runtime's
  assert.equal(sysctlAllowed('kernel.msgmax=8192'), true);
});

test("cpusets: docker's ParseUintList and the host's CPUs", () => {
  assert.deepEqual(cpuList('0-2,5'), [0, 1, 2, 5]);
  assert.deepEqual(cpuList(''), []);
  for (const bad of ['7-3', 'a', '1,', '1-', '-1', ' 1']) assert.equal(cpuList(bad), null, bad);
  checkCpuset('0-1', '0-1');
  checkCpuset('1', '0-3');
  assert.throws(() => checkCpuset('7-3', '0-1'), invalidAs(/^Invalid value 7-3 for cpuset cpus: invalid format: 7-3$/));
  assert.throws(() => checkCpuset('5', '0-1'), invalidAs(/^Requested CPUs are not available - requested 5, available: 0-1$/));
  assert.throws(() => checkCpuset('0,2', '0-1'), invalidAs(/^Requested CPUs are not available - requested 0,2, available: 0-1$/));
});

test('--cpus range and CPU shares, as the daemon checks and adapts them', () => {
  checkNanoCpus(0, 2);
  checkNanoCpus(1e7, 2);
  checkNanoCpus(2e9, 2);
  const range = /^Range of CPUs is from 0\.01 to 2\.00, as there are only 2 CPUs available$/;
  assert.throws(() => checkNanoCpus(2e9 + 1, 2), invalidAs(range));
  assert.throws(() => checkNanoCpus(1e6, 2), invalidAs(range));
  assert.equal(adaptCpuShares(0), 0);
  assert.equal(adaptCpuShares(1), 2);
  assert.equal(adaptCpuShares(1024), 1024);
  assert.equal(adaptCpuShares(300000), 262144);
  // create keeps the adapted value (docker inspect shows 2 for --cpu-shares 1)
  assert.equal(normalizeCreate({ rootfs: '/r', cpuShares: 1 }).hostConfig.CpuShares, 2);
  // update: the merged values are checked the same way
  const hc = { NanoCpus: 99e9, CpusetCpus: '', CpuShares: 0 };
  assert.throws(() => checkUpdatedResources(hc), invalidAs(/^Range of CPUs is from 0\.01 to /));
  const ok = { NanoCpus: 0, CpusetCpus: '', CpuShares: 1 };
  checkUpdatedResources(ok);
  assert.equal(ok.CpuShares, 2);
});

test('security options and capabilities: docker\'s messages', () => {
  assert.throws(() => normalizeCreate({ rootfs: '/r', securityOpt: ['bogus'] }), invalidAs(/^Invalid --security-opt: "bogus"$/));
  assert.throws(() => capabilities({ CapAdd: ['NOSUCH'], CapDrop: [], Privileged: false }), invalidAs(/^invalid CapAdd: unknown capability: "CAP_NOSUCH"$/));
  assert.throws(() => capabilities({ CapAdd: [], CapDrop: ['nope'], Privileged: false }), invalidAs(/^invalid CapDrop: unknown capability: "CAP_NOPE"$/));
  assert.ok(capabilities({ CapAdd: ['net_admin'], CapDrop: [], Privileged: false }).includes('CAP_NET_ADMIN'));
});

test('seccomp profile files: Go\'s wording for a missing file, the daemon\'s for bad JSON', () => {
  assert.equal(goOpenError('/x', Object.assign(new Error('e'), { code: 'ENOENT' })), 'open /x: no such file or directory');
  assert.equal(goOpenError('/x', Object.assign(new Error('e'), { code: 'EACCES' })), 'open /x: permission denied');
  assert.equal(goOpenError('/x', Object.assign(new Error('e'), { code: 'EISDIR' })), 'read /x: is a directory');
  const dir = mkdtempSync(join(tmpdir(), 'berth-badinput-'));
  try {
    const spec = (profile: string) => {
      const n = normalizeCreate({ rootfs: dir, cmd: ['true'], securityOpt: [`seccomp=${profile}`] });
      return buildSpec({ id: 'x'.repeat(64), config: n.config, hostConfig: n.hostConfig, rootfs: dir, volumeSources: new Map(), initBinary: '/bin/true',
        hostsPath: '/h', hostnamePath: '/n', resolvConfPath: '/r' });
    };
    const missing = join(dir, 'nope.json');
    assert.throws(() => spec(missing), invalidAs(new RegExp(`^opening seccomp profile \\(${missing}\\) failed: open ${missing}: no such file or directory$`)));
    writeFileSync(join(dir, 'bad.json'), 'not json');
    assert.throws(() => spec(join(dir, 'bad.json')), invalidAs(/^decoding seccomp profile failed: /));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--restart: docker 28's CLI format errors and its daemon's ValidateRestartPolicy", () => {
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('always:0'), { Name: 'always', MaximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy(''), { Name: 'no', MaximumRetryCount: 0 });
  for (const [v, message] of [
    ['bogus', "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
    ['on-failure:-1', 'invalid restart policy: maximum retry count cannot be negative'],
    ['on-failure:x', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1:2', 'invalid restart policy format: maximum retry count must be an integer'],
    ['always:2', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['no:-2', "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"],
    [':3', 'invalid restart policy format: no policy provided before colon'],
  ] as const) {
    assert.throws(() => parseRestartPolicy(v), (e) => isEngineError(e, 'invalid') && e.message === message, v);
  }
  // not a flag error: docker prints it as it is
  assert.throws(() => normalizeCreate({ rootfs: '/r', restart: 'bogus' }), invalidAs(/^invalid restart policy: unknown policy 'bogus'/));
  assert.throws(() => normalizeCreate({ rootfs: '/r', restart: 'always', autoRemove: true }), invalidAs(/^conflicting options: cannot specify both --restart and --rm$/));
});

test('--mount of an unknown type: the daemon\'s words, then the fix', () => {
  assert.throws(() => parseMountFlag('type=nope,target=/x'), invalidAs(/^invalid mount config for type "nope": mount type unknown \(use bind, volume or tmpfs\)$/));
  assert.throws(() => parseMountFlag('type=bind,target=/x'), invalidAs(/^invalid mount config for type "bind": field Source must not be empty$/));
});

test("local volume names: the driver's rule and docker's words (-v, --mount, volume create)", () => {
  assert.equal(volumeNameError('ab'), undefined);
  assert.equal(volumeNameError('a'), 'volume name is too short, names should be at least two alphanumeric characters');
  assert.match(volumeNameError('bad name')!, /^"bad name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed\. If you intended to pass a host directory, use absolute path$/);
  assert.throws(() => parseVolumeFlag('.:/x'), invalidAs(/^create \.: volume name is too short, names should be at least two alphanumeric characters$/));
  assert.throws(() => parseVolumeFlag('rel/dir:/x'), invalidAs(/^create rel\/dir: "rel\/dir" includes invalid characters for a local volume name/));
  assert.throws(() => parseMountFlag('type=volume,source=a/b,target=/x'), invalidAs(/^create a\/b: "a\/b" includes invalid characters/));
  assert.deepEqual(parseVolumeFlag('ab:/x'), { Type: 'volume', Source: 'ab', Target: '/x', ReadOnly: false });
  assert.throws(() => parseVolumeFlag('/a:/b:badmode'), invalidAs(/^invalid mode: badmode$/)); // moby's linux parser, no more
});

test("health durations: Go's time.ParseDuration words for a refused value", () => {
  const bad = (v: string, re: RegExp) => assert.throws(() => normalizeCreate({ rootfs: '/r', healthCmd: 'true', healthInterval: v }), invalidAs(re), v);
  bad('5', /^invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"/);
  bad('5x', /^invalid argument "5x" for "--health-interval" flag: time: unknown unit "x" in duration "5x"/);
  bad('abc', /^invalid argument "abc" for "--health-interval" flag: time: invalid duration "abc"/);
  assert.equal(normalizeCreate({ rootfs: '/r', healthCmd: 'true', healthInterval: '1m30s' }).config.Healthcheck?.Interval, 90e9);
});
