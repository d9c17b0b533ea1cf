// Pure logic of the engine and the berth CLI: flag parsing, Go templates, docker's value
// parsers, option normalization, the container spec, the monitor's argv and log records.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseArgs, UsageError, type FlagDef } from '../../src/cli/berth/flags.js';
import { formatRows, humanSize, bytesSize, tabulate, template } from '../../src/cli/berth/format.js';
import { isEngineError } from '../../src/engine/errors.js';
import { parseLogLine } from '../../src/engine/logs.js';
import { frame, monitorArgs } from '../../src/engine/monitor.js';
import { normalizeCreate } from '../../src/engine/options.js';
import { buildSpec, capabilities, DOCKER_DEFAULT_CAPS, resolveUser, resourcesOf } from '../../src/engine/spec.js';
import { parseDevice, parseMountFlag, parseRestartPolicy, parseSize, parseUlimit, parseVolumeFlag, parseEnvFile } from '../../src/engine/units.js';
import { statusText, psRow } from '../../src/engine/inspect.js';
import type { ContainerRecord } from '../../src/engine/types.js';

const FLAGS: FlagDef[] = [
  { name: 'detach', short: 'd', kind: 'bool', help: '' },
  { name: 'interactive', short: 'i', kind: 'bool', help: '' },
  { name: 'tty', short: 't', kind: 'bool', help: '' },
  { name: 'env', short: 'e', kind: 'list', help: '' },
  { name: 'name', kind: 'string', help: '' },
  { name: 'cpu-shares', short: 'c', kind: 'int', help: '' },
];

test('flags: docker syntax', () => {
  const p = parseArgs(['-it', '-eA=1', '-e', 'B=2', '--name=x', '-c', '512', 'img', 'sh', '-c', 'echo'], FLAGS, false);
  assert.deepEqual(p.flags, { interactive: true, tty: true, env: ['A=1', 'B=2'], name: 'x', 'cpu-shares': 512 });
  assert.deepEqual(p.args, ['img', 'sh', '-c', 'echo']);
  assert.deepEqual(parseArgs(['a', '-d', 'b', '--', '-t'], FLAGS, true), { flags: { detach: true }, args: ['a', 'b', '-t'] });
  assert.deepEqual(parseArgs(['--detach=false'], FLAGS, true).flags, { detach: false });
  const err = (argv: string[], msg: string) => assert.throws(() => parseArgs(argv, FLAGS, true), (e) => e instanceof UsageError && e.message === msg);
  err(['--foo'], 'unknown flag: --foo');
  err(['-z'], "unknown shorthand flag: 'z' in -z");
  err(['-dz'], "unknown shorthand flag: 'z' in -dz");
  err(['--name'], 'flag needs an argument: --name');
  err(['-e'], "flag needs an argument: 'e' in -e");
  err(['-c', 'x'], 'invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax');
});

test('templates: fields, functions, range, if, table and json output', () => {
  const v = { ID: 'abc', State: { Status: 'running', Running: true }, Labels: { k: 'v' }, Mounts: [{ Source: '/a' }, { Source: '/b' }], Cmd: ['sh', '-c'] };
  assert.equal(template('{{.ID}} {{.State.Status}}')(v), 'abc running');
  assert.equal(template('{{json .State}}')(v), '{"Status":"running","Running":true}');
  assert.equal(template('{{index .Labels "k"}}')(v), 'v');
  assert.equal(template('{{range .Mounts}}{{.Source}};{{end}}')(v), '/a;/b;');
  assert.equal(template('{{if .State.Running}}up{{else}}down{{end}}')(v), 'up');
  assert.equal(template('{{join .Cmd " "}} {{upper .ID}} {{len .Mounts}}')(v), 'sh -c ABC 2');
  assert.equal(template('{{.ID | upper}}')(v), 'ABC');
  assert.equal(template('{{.Cmd}}')(v), '[sh -c]');
  assert.throws(() => template('{{.Nope}}')(v), /can't evaluate field Nope/);
  assert.throws(() => template('{{if .ID}}x'), /unexpected EOF/);
  const rows = [{ ID: 'a1', Names: 'web' }, { ID: 'b22', Names: 'db' }];
  assert.equal(formatRows(rows, 'table {{.ID}}\t{{.Names}}', { ID: 'CONTAINER ID', Names: 'NAMES' }), 'CONTAINER ID   NAMES\na1             web\nb22            db\n');
  assert.equal(formatRows(rows, '{{.Names}}', {}), 'web\ndb\n');
  assert.equal(formatRows([{ ID: 'a', Label: () => 'x' }], 'json', {}), '{"ID":"a"}\n');
  assert.equal(tabulate(['a\tb', 'ccc\td']), 'a         b\nccc       d\n');
  assert.equal(humanSize(69632), '69.6kB');
  assert.equal(bytesSize(532480), '520KiB');
});

test("docker's value parsers", () => {
  assert.equal(parseSize('64m'), 64 * 1024 * 1024);
  assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('512KiB'), 512 * 1024);
  assert.equal(parseSize('100'), 100);
  assert.throws(() => parseSize('12x'), /invalid suffix: 'x'/); // docker 28 (go-units 0.5)
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.throws(() => parseRestartPolicy('always:2'), /invalid restart policy: maximum retry count can only be used with 'on-failure'/);
  assert.throws(() => parseRestartPolicy('sometimes'), /invalid restart policy/);
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  assert.throws(() => parseUlimit('nofile=10:5'), /soft limit must be less/);
  assert.deepEqual(parseVolumeFlag('/h:/c:ro'), { Type: 'bind', Source: '/h', Target: '/c', ReadOnly: true });
  assert.deepEqual(parseVolumeFlag('data:/c'), { Type: 'volume', Source: 'data', Target: '/c', ReadOnly: false });
  assert.deepEqual(parseVolumeFlag('/anon'), { Type: 'volume', Source: '', Target: '/anon', ReadOnly: false });
  assert.throws(() => parseVolumeFlag('data:rel'), /must be absolute/);
  assert.throws(() => parseVolumeFlag('/h:/c:xyz'), /invalid mode: xyz/);
  assert.deepEqual(parseMountFlag('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  assert.deepEqual(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777'), { Type: 'tmpfs', Source: '', Target: '/t', ReadOnly: false, TmpfsSize: 1048576, TmpfsMode: 0o1777 });
  assert.throws(() => parseMountFlag('type=bind,target=/b'), /field Source must not be empty/);
  assert.deepEqual(parseDevice('/dev/sda:/dev/xvda:r'), { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' });
  assert.deepEqual(parseEnvFile('# c\nA=1\n\nB\n', { B: 'x' }), ['A=1', 'B=x']);
});

test('create options: validation before anything exists', () => {
  const bad = (o: object, re: RegExp) => assert.throws(() => normalizeCreate({ rootfs: '/r', ...o }), (e) => isEngineError(e, 'invalid') && re.test(e.message));
  bad({ memory: '12x' }, /invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'/);
  bad({ memory: '1m' }, /Minimum memory limit allowed is 6MB/);
  bad({ memory: '64m', memorySwap: '32m' }, /Minimum memoryswap limit/);
  bad({ cpus: '1000' }, /Range of CPUs/);
  bad({ name: 'a/b' }, /Invalid container name/);
  bad({ restart: 'always', autoRemove: true }, /conflicting options: cannot specify both --restart and --rm/);
  bad({ volumes: ['/a:/x'], tmpfs: ['/x'] }, /Duplicate mount point: \/x/);
  bad({ network: 'a b' }, /invalid --network/); // bridge networks exist now (engine-network-options.test.ts)
  bad({ stopSignal: 'SIGNOPE' }, /Invalid signal/);
  bad({ logOpts: { 'max-file': '3' } }, /max-file cannot be set without max-size/);
  const n = normalizeCreate({ rootfs: '/r', cmd: ['sh'], memory: '64m', cpus: '1.5', env: ['A=1'], restart: 'on-failure:2', labels: { a: 'b' } });
  assert.equal(n.hostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(n.hostConfig.NanoCpus, 1.5e9);
  assert.deepEqual(n.hostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal(n.hostConfig.NetworkMode, process.getuid?.() === 0 ? 'bridge' : 'none'); // docker's default; rootless: none
  assert.deepEqual(n.config.Env, ['A=1']);
  assert.deepEqual(resourcesOf(n.hostConfig), { memory: { limit: 67108864, swap: 134217728 }, cpu: { period: 100000, quota: 150000 } });
});

test('the container spec: docker defaults and options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  try {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app\n');
    assert.deepEqual(resolveUser('app', dir), { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/app' });
    assert.deepEqual(resolveUser('5:7', dir), { uid: 5, gid: 7, additionalGids: [], home: '/' });
    assert.throws(() => resolveUser('nobody', dir), /unable to find user nobody/);
    assert.deepEqual(capabilities({ CapAdd: [], CapDrop: [], Privileged: false }), [...DOCKER_DEFAULT_CAPS].sort());
    assert.deepEqual(capabilities({ CapAdd: ['sys_admin'], CapDrop: ['ALL'], Privileged: false }), ['CAP_SYS_ADMIN']);
    assert.throws(() => capabilities({ CapAdd: ['BOGUS'], CapDrop: [], Privileged: false }), /invalid CapAdd: unknown capability: "CAP_BOGUS"/);
    const id = 'f'.repeat(64);
    const n = normalizeCreate({ rootfs: dir, cmd: ['echo', 'hi'], env: ['A=1'], tty: true, init: true, readOnly: true, volumes: ['vol:/data', '/h:/h:ro'], tmpfs: ['/run:size=1m'], user: 'app' });
    const spec = buildSpec({
      id, config: n.config, hostConfig: n.hostConfig, rootfs: dir, hostsPath: '/c/hosts', hostnamePath: '/c/hostname', resolvConfPath: '/c/resolv.conf',
      volumeSources: new Map([['/data', '/vols/v/_data']]), initBinary: '/dist/berth-monitor', cgroupNs: false,
    });
    assert.equal(spec.hostname, 'ffffffffffff');
    assert.deepEqual(spec.process!.args, ['/sbin/berth-init', 'init', 'echo', 'hi']);
    assert.deepEqual(spec.process!.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=ffffffffffff', 'TERM=xterm', 'A=1', 'HOME=/home/app']);
    assert.deepEqual(spec.process!.user, { uid: 1000, gid: 1000, additionalGids: [10] });
    assert.equal(spec.process!.terminal, true);
    assert.equal(spec.root!.readonly, true);
    assert.deepEqual(spec.process!.capabilities!.bounding, [...DOCKER_DEFAULT_CAPS].sort());
    assert.ok(spec.linux!.maskedPaths!.includes('/proc/kcore'));
    assert.ok(spec.linux!.readonlyPaths!.includes('/proc/sys'));
    assert.ok(spec.linux!.seccomp, 'the default seccomp profile');
    assert.equal(spec.linux!.cgroupsPath, `/berth/${id}`);
    assert.ok(spec.linux!.namespaces!.some((x) => x.type === 'network'));
    const dests = spec.mounts!.map((m) => `${m.destination}<${m.source ?? ''}`);
    for (const d of ['/etc/resolv.conf</c/resolv.conf', '/etc/hostname</c/hostname', '/etc/hosts</c/hosts', '/data</vols/v/_data', '/h</h', '/run<tmpfs', '/sbin/berth-init</dist/berth-monitor']) assert.ok(dests.includes(d), d);
    assert.deepEqual(spec.mounts!.find((m) => m.destination === '/h')!.options, ['rbind', 'rprivate', 'ro']);
    const u = normalizeCreate({ rootfs: dir, cmd: ['true'], privileged: true, network: 'host', securityOpt: ['seccomp=unconfined'] });
    const ps = buildSpec({ id, config: u.config, hostConfig: u.hostConfig, rootfs: dir, hostsPath: '/h', hostnamePath: '/n', resolvConfPath: '/r', volumeSources: new Map(), initBinary: '/i' });
    assert.equal(ps.linux!.seccomp, undefined);
    assert.deepEqual(ps.linux!.maskedPaths, []);
    assert.ok(!ps.linux!.namespaces!.some((x) => x.type === 'network'));
    assert.deepEqual(ps.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
    assert.throws(() => buildSpec({ id, config: { ...u.config, Cmd: [] }, hostConfig: u.hostConfig, rootfs: dir, hostsPath: '', hostnamePath: '', resolvConfPath: '', volumeSources: new Map(), initBinary: '' }), /No command specified/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the monitor's argv, attach frames and log records", () => {
  const a = monitorArgs({
    stateDir: '/s', plan: Buffer.alloc(0), logPath: '/l', logType: 'json-file', maxSize: 1024, maxFiles: 3, restart: { Name: 'on-failure', MaximumRetryCount: 2 },
    openStdin: true, stdinOnce: true, tty: false, oomFile: '/cg/memory.oom_control', exitCommand: ['/node', 'berth', 'system', 'cleanup', 'x'], attach: true,
  });
  assert.deepEqual(a.slice(0, 2), ['-d', '/s']);
  assert.ok(a.join(' ').includes('-l /l -L json-file -r on-failure -R 2 -S 1024 -N 3 -i -o -O /cg/memory.oom_control -a 4 -- /node berth system cleanup x'));
  assert.deepEqual([...frame(1, Buffer.from('hi'))], [1, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
  assert.deepEqual(parseLogLine('{"log":"a\\n","stream":"stderr","time":"2024-01-02T03:04:05.123456789Z"}', 'json-file'), { stream: 'stderr', line: 'a\n', time: '2024-01-02T03:04:05.123456789Z', timeNano: 1704164645123456789n });
  assert.deepEqual(parseLogLine('2024-01-02T03:04:05.5Z stdout P part', 'cri'), { stream: 'stdout', line: 'part', time: '2024-01-02T03:04:05.5Z', timeNano: 1704164645500000000n });
  assert.equal(parseLogLine('garbage', 'json-file'), null);
});

test('ps rows and status text', () => {
  const now = Date.parse('2024-01-01T00:10:00Z');
  const rec = {
    id: 'a'.repeat(64), name: 'web', image: '/rootfs', state: 'exited', created: '2024-01-01T00:00:00.000000000Z', startedAt: '2024-01-01T00:01:00Z',
    finishedAt: '2024-01-01T00:08:00Z', exitCode: 3, config: { Cmd: ['sh', '-c', 'a very long command line'], Entrypoint: null, Labels: { a: 'b' } },
    hostConfig: { Mounts: [], NetworkMode: 'none' },
  } as unknown as ContainerRecord;
  assert.equal(statusText(rec, now), 'Exited (3) 2 minutes ago');
  const row = psRow(rec, false, now);
  assert.equal(row.ID, 'aaaaaaaaaaaa');
  assert.equal(row.Command, '"sh -c a very long c…"');
  assert.equal(row.RunningFor, '10 minutes ago');
  assert.equal(row.Labels, 'a=b');
  assert.equal(statusText({ ...rec, state: 'running' }, now), 'Up 9 minutes');
  assert.equal(statusText({ ...rec, state: 'paused' }, now), 'Up 9 minutes (Paused)');
  assert.equal(statusText({ ...rec, state: 'created' }, now), 'Created');
});
