// The `berth` CLI against real containers (root): every verb, docker's exit codes and messages,
// parallel invocations, and reconcile after a killed CLI or a wiped state directory.
// Each test file has its own --root and --state-root; everything is removed at the end, and the
// end checks that no cgroup, monitor process or state is left.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBusyboxRootfs, REPO } from '../helpers/bundle.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-engine-cli-'));
const root = join(dir, 'root');
// short: attach sockets live under it (sun_path is 108 bytes)
const stateRoot = `/run/berth-t${process.pid}`;
const rootfs = join(dir, 'rootfs');

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function berth(args: string[], opts: { input?: string; timeout?: number } = {}): R {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], {
    encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 30000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function berthAsync(args: string[]): Promise<R> {
  return new Promise((resolve) => {
    const c = spawn(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const ok = (r: R, what = '') => assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
const runArgs = (...a: string[]) => ['run', '--rootfs', rootfs, ...a];
let n = 0;
const uniq = (p: string) => `${p}-${process.pid}-${n++}`;

/** cgroup directories of berth containers left on the host that belong to this test's root. */
function leakedCgroups(ids: Set<string>): string[] {
  const out: string[] = [];
  for (const h of ['memory', 'pids', 'cpu', 'freezer', 'unified']) {
    const d = `/sys/fs/cgroup/${h}/berth`;
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d)) if (ids.has(e)) out.push(`${d}/${e}`);
  }
  return out;
}

function monitorsOfThisTest(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.startsWith(`${join(REPO, 'dist', 'berth-shim')}\0monitor\0`) && cmd.includes(stateRoot)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

const allIds = new Set<string>();

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\ntty:x:5:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n');
  writeFileSync(join(rootfs, 'notexec'), 'data');
  chmodSync(join(rootfs, 'notexec'), 0o644);
});

after(() => {
  const ids = berth(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
  for (const id of ids) allIds.add(id);
  if (ids.length) berth(['rm', '-f', '-v', ...ids]);
  const left = berth(['ps', '-aq']).stdout.trim();
  const cg = leakedCgroups(allIds);
  const mons = monitorsOfThisTest();
  for (const p of mons) process.kill(p, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
  assert.equal(left, '', 'containers left after rm -f');
  assert.deepEqual(cg, [], 'leaked cgroups');
  assert.deepEqual(mons, [], 'leaked monitors');
});

describe('berth CLI', () => {
  test('help and version', () => {
    const h = berth(['--help']);
    ok(h);
    assert.match(h.stdout, /Usage:\s+berth \[OPTIONS\] COMMAND/);
    const rh = berth(['run', '--help']);
    ok(rh);
    assert.match(rh.stdout, /--memory bytes/);
    assert.match(berth(['volume', 'ls', '--help']).stdout, /List volumes/);
    assert.match(berth(['version']).stdout, /Version:\s+0\.1\.0/);
  });

  test('run in the foreground: output, stderr, exit status, --rm', () => {
    const r = berth(runArgs('--rm', 'sh', '-c', 'echo out; echo err >&2; exit 3'));
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(berth(['ps', '-aq']).stdout, '');
    const i = berth(runArgs('-i', '--rm', 'sh', '-c', 'cat; echo done'), { input: 'from stdin\n' });
    ok(i);
    assert.equal(i.stdout, 'from stdin\ndone\n');
  });

  test('exit codes and messages of bad input: nothing is created', () => {
    const before = berth(['ps', '-aq']).stdout;
    const cases: [string[], number, RegExp][] = [
      [runArgs('--foo', 'true'), 125, /unknown flag: --foo\nSee 'berth run --help'/],
      [runArgs('--memory', '12x', 'true'), 125, /invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'/],
      [runArgs('--restart', 'sometimes', 'true'), 125, /invalid restart policy/],
      [runArgs('--cpus', 'abc', 'true'), 125, /--cpus/],
      [['run', '--rootfs', join(dir, 'nope'), 'true'], 125, /no such directory/],
      [['run', 'localhost:1/busybox:latest', 'true'], 125, /Unable to find image 'localhost:1\/busybox:latest' locally/],
      [['run', '--pull', 'never', 'busybox', 'true'], 125, /No such image: busybox/],
      [runArgs('-v', 'bad name:/x', 'true'), 125, /create bad name: "bad name" includes invalid characters for a local volume name/],
      [runArgs('--rm', '--restart', 'always', 'true'), 125, /conflicting options: cannot specify both --restart and --rm/],
      [['nosuchverb'], 125, /'nosuchverb' is not a berth command/],
      [['rm'], 125, /"berth rm" requires at least 1 argument/],
    ];
    for (const [args, code, msg] of cases) {
      const r = berth(args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    assert.equal(berth(['ps', '-aq']).stdout, before, 'bad input created a container');
    const nf = berth(runArgs('--rm', 'nosuchcmd'));
    assert.equal(nf.status, 127);
    assert.match(nf.stderr, /executable file not found/);
    assert.equal(berth(runArgs('--rm', '/notexec')).status, 126);
    const name = uniq('dup');
    ok(berth(['create', '--rootfs', rootfs, '--name', name, 'true']));
    const dup = berth(runArgs('--name', name, 'true'));
    assert.equal(dup.status, 125);
    assert.match(dup.stderr, new RegExp(`The container name "/${name}" is already in use by container`));
    const miss = berth(['logs', 'nosuchcontainer']);
    assert.equal(miss.status, 1);
    assert.match(miss.stderr, /No such container: nosuchcontainer/);
    ok(berth(['rm', name]));
  });

  test('detached: ps, logs, exec, inspect, top, stats, pause, rename, update, stop, start, restart, kill, wait, rm', () => {
    const name = uniq('web');
    const d = berth(runArgs('-d', '--name', name, '-l', 'tier=web', '-e', 'FOO=bar', '--stop-timeout', '5', 'sh', '-c',
      'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.05; done'));
    ok(d, 'run -d');
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    allIds.add(id);
    const ps = berth(['ps']);
    assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)}.*Up .*${name}`));
    assert.equal(berth(['ps', '-q', '--filter', 'label=tier=web', '--filter', `name=${name}`]).stdout.trim(), id.slice(0, 12));
    assert.equal(berth(['ps', '--format', '{{.Names}}:{{.State}}', '--filter', `id=${id.slice(0, 8)}`]).stdout, `${name}:running\n`);
    const j = JSON.parse(berth(['ps', '--format', 'json', '--filter', `name=${name}`]).stdout);
    assert.equal(j.Names, name);
    assert.equal(j.Labels, 'tier=web');
    // logs
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('started'); i++) logs = berth(['logs', name]).stdout;
    assert.equal(logs, 'started\n');
    assert.match(berth(['logs', '-t', '--tail', '1', name]).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$/);
    assert.equal(berth(['logs', '--since', '2099-01-01T00:00:00Z', name]).stdout, '');
    // exec
    const ex = berth(['exec', '-e', 'X=1', '-w', '/tmp', name, 'sh', '-c', 'echo $FOO $X $(pwd) $HOSTNAME; exit 4']);
    assert.equal(ex.status, 4);
    assert.equal(ex.stdout, `bar 1 /tmp ${id.slice(0, 12)}\n`);
    assert.equal(berth(['exec', '-u', 'app', name, 'id', '-u']).stdout, '1000\n');
    assert.equal(berth(['exec', name, 'nosuch']).status, 127);
    assert.equal(berth(['exec', '-i', name, 'cat'], { input: 'piped' }).stdout, 'piped');
    // inspect
    const [ins] = JSON.parse(berth(['inspect', name]).stdout);
    assert.equal(ins.Id, id);
    assert.equal(ins.Name, `/${name}`);
    assert.equal(ins.State.Status, 'running');
    assert.ok(ins.State.Pid > 0);
    assert.equal(ins.Config.Labels.tier, 'web');
    assert.ok(ins.Config.Env.includes('FOO=bar'));
    assert.equal(ins.HostConfig.RestartPolicy.Name, 'no');
    assert.equal(berth(['inspect', '-f', '{{.State.Running}} {{index .Config.Labels "tier"}} {{json .Config.Cmd}}', id.slice(0, 10)]).stdout.split(' ')[0], 'true');
    // top, stats
    const top = berth(['top', name]);
    ok(top, 'top');
    assert.match(top.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    assert.match(top.stdout, /sh -c echo started/);
    const st = berth(['stats', '--no-stream', name]);
    ok(st, 'stats');
    assert.match(st.stdout, /CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
    assert.match(st.stdout, new RegExp(`${id.slice(0, 12)}\\s+${name}\\s+\\d+\\.\\d\\d%`));
    // pause / unpause
    ok(berth(['pause', name]));
    assert.match(berth(['ps', '--format', '{{.Status}}', '--filter', `name=${name}`]).stdout, /\(Paused\)/);
    assert.equal(berth(['exec', name, 'true']).status, 1);
    ok(berth(['unpause', name]));
    // rename, update
    const name2 = uniq('web2');
    ok(berth(['rename', name, name2]));
    ok(berth(['update', '--memory', '64m', '--pids-limit', '50', name2]));
    assert.equal(berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', name2]).stdout, '67108864 50\n');
    if (existsSync(`/sys/fs/cgroup/memory/berth/${id}`)) assert.equal(readFileSync(`/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`, 'utf8').trim(), '67108864');
    // stop (the trap answers SIGTERM), logs of the whole run
    ok(berth(['stop', name2]));
    assert.equal(berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name2]).stdout, 'exited 0\n');
    assert.equal(berth(['logs', name2]).stdout, 'started\nbye\n');
    assert.match(berth(['ps', '-a', '--filter', `name=${name2}`]).stdout, /Exited \(0\)/);
    // start again, restart, kill, wait
    ok(berth(['start', name2]));
    ok(berth(['restart', '-t', '2', name2]));
    assert.equal(berth(['inspect', '-f', '{{.State.Status}}', name2]).stdout, 'running\n');
    ok(berth(['kill', '-s', 'KILL', name2]));
    assert.equal(berth(['wait', name2]).stdout, '137\n');
    assert.equal(berth(['kill', name2]).status, 1);
    // rm
    ok(berth(['rm', name2]));
    assert.equal(berth(['inspect', name2]).status, 1);
    assert.ok(!existsSync(join(root, 'containers', id)));
  });

  test('create, start -a, rm -f of a running container', () => {
    const name = uniq('c');
    const c = berth(['create', '--rootfs', rootfs, '--name', name, 'sh', '-c', 'echo attached; exit 2']);
    ok(c);
    allIds.add(c.stdout.trim());
    assert.equal(berth(['inspect', '-f', '{{.State.Status}}', name]).stdout, 'created\n');
    const s = berth(['start', '-a', name]);
    assert.equal(s.status, 2);
    assert.equal(s.stdout, 'attached\n');
    const r = berth(runArgs('-d', '--name', `${name}-r`, 'sleep', '60'));
    ok(r);
    allIds.add(r.stdout.trim());
    const busy = berth(['rm', `${name}-r`]);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, /stop the container before removing or force remove/);
    ok(berth(['rm', '-f', name, `${name}-r`]));
    assert.equal(berth(['ps', '-aq', '--filter', `name=${name}`]).stdout, '');
  });

  test('restart policies: on-failure:2 restarts twice, then stays exited', () => {
    const name = uniq('rp');
    const r = berth(runArgs('-d', '--name', name, '--restart', 'on-failure:2', 'sh', '-c', 'echo run; exit 1'));
    ok(r);
    allIds.add(r.stdout.trim());
    let out = '';
    for (let i = 0; i < 100; i++) {
      out = berth(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', name]).stdout;
      if (out.startsWith('exited')) break;
      spawnSync('sleep', ['0.1']);
    }
    assert.equal(out, 'exited 2 1\n');
    assert.equal(berth(['logs', name]).stdout, 'run\nrun\nrun\n');
    // always + stop: no restart after a stop
    const a = uniq('always');
    const ar = berth(runArgs('-d', '--name', a, '--restart', 'always', 'sleep', '60'));
    ok(ar);
    allIds.add(ar.stdout.trim());
    ok(berth(['stop', '-t', '0', a]));
    spawnSync('sleep', ['0.3']);
    assert.equal(berth(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', a]).stdout, 'exited 0\n');
    ok(berth(['rm', name, a]));
  });

  test('volumes: named, anonymous, binds, tmpfs, --mount; volume create/ls/inspect/rm/prune', () => {
    const vol = uniq('vol');
    assert.equal(berth(['volume', 'create', '--label', 'k=v', vol]).stdout, `${vol}\n`);
    assert.match(berth(['volume', 'ls']).stdout, new RegExp(`^DRIVER\\s+VOLUME NAME\\n(.*\\n)*local\\s+${vol}\\n`));
    const [vi] = JSON.parse(berth(['volume', 'inspect', vol]).stdout);
    assert.equal(vi.Labels.k, 'v');
    assert.equal(vi.Mountpoint, join(root, 'volumes', vol, '_data'));
    const host = join(dir, 'hostdir');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, 'f'), 'host file');
    const r = berth(runArgs('--rm', '-v', `${vol}:/data`, '-v', `${host}:/h:ro`, '--tmpfs', '/scratch:size=1m',
      '--mount', `type=bind,source=${host},target=/h2`, '--mount', 'type=tmpfs,target=/t2',
      'sh', '-c', 'echo kept > /data/x; cat /h/f; echo; touch /h/no 2>/dev/null || echo ro; grep -c " /scratch tmpfs" /proc/mounts; grep -c " /t2 tmpfs" /proc/mounts; cat /h2/f'));
    ok(r, 'volume run');
    assert.equal(r.stdout, 'host file\nro\n1\n1\nhost file');
    assert.equal(readFileSync(join(root, 'volumes', vol, '_data', 'x'), 'utf8'), 'kept\n');
    // a volume in use cannot be removed
    const u = berth(runArgs('-d', '--name', uniq('vu'), '-v', `${vol}:/data`, '-v', '/anon', 'sleep', '60'));
    ok(u);
    const uid = u.stdout.trim();
    allIds.add(uid);
    const busy = berth(['volume', 'rm', vol]);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, /volume is in use/);
    const anon = JSON.parse(berth(['inspect', uid]).stdout)[0].Mounts.find((m: { Destination: string }) => m.Destination === '/anon').Name;
    assert.match(anon, /^[0-9a-f]{64}$/);
    ok(berth(['rm', '-f', '-v', uid]));
    assert.ok(!berth(['volume', 'ls', '-q']).stdout.includes(anon), 'rm -v removes anonymous volumes');
    ok(berth(['volume', 'rm', vol]));
    assert.ok(!existsSync(join(root, 'volumes', vol)));
    const p = uniq('prune');
    ok(berth(['volume', 'create', p]));
    assert.ok(!berth(['volume', 'prune', '-f']).stdout.includes(p), 'named volumes stay without --all');
    assert.match(berth(['volume', 'prune', '-f', '-a']).stdout, new RegExp(`Deleted Volumes:\\n(.*\\n)*${p}\\n`));
  });

  test('security and resource flags reach the container', () => {
    const r = berth(runArgs('--rm', '--read-only', '--hostname', 'box', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--security-opt', 'no-new-privileges',
      '--ulimit', 'nofile=512:1024', '--sysctl', 'net.ipv4.ip_forward=1', '-u', 'app', '-w', '/tmp', '--entrypoint', 'sh', '--pids-limit', '20',
      '--cpus', '0.5', '--memory', '32m', '--device', '/dev/null:/dev/mynull', '--init',
      '--', '-c', 'hostname; touch /x 2>/dev/null || echo rofs; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward; id; pwd; echo hi > /dev/mynull && echo dev; cat /proc/1/cmdline | tr "\\0" " "; echo'));
    ok(r, 'flags run');
    assert.equal(r.stdout, 'box\nrofs\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n512\n1024\n1\nuid=1000(app) gid=1000(app) groups=2000(extra)\n/tmp\ndev\n/sbin/berth-init init sh -c hostname; touch /x 2>/dev/null || echo rofs; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward; id; pwd; echo hi > /dev/mynull && echo dev; cat /proc/1/cmdline | tr "\\0" " "; echo \n');
    const net = berth(runArgs('--rm', '--network', 'host', 'sh', '-c', 'ls /sys/class/net | grep -c -v "^lo$"'));
    ok(net);
    assert.notEqual(net.stdout.trim(), '0', 'host network shows the host links');
    assert.equal(berth(runArgs('--rm', '--network', 'none', 'sh', '-c', 'ls /sys/class/net')).stdout, 'lo\n');
    assert.equal(berth(runArgs('--rm', 'sh', '-c', 'ls /sys/class/net')).stdout, 'eth0\nlo\n', 'the default is the bridge network, as docker\'s');
    const env = join(dir, 'env');
    writeFileSync(env, '# comment\nA=1\nB=two words\n');
    assert.equal(berth(runArgs('--rm', '--env-file', env, '-e', 'A=3', 'sh', '-c', 'echo "$A $B"')).stdout, '3 two words\n');
    const priv = berth(runArgs('--rm', '--privileged', 'sh', '-c', 'grep CapEff /proc/self/status'));
    ok(priv, 'privileged');
    assert.match(priv.stdout, /CapEff:\t000001fffeffffff|CapEff:\t0000003fffffffff|CapEff:\t000001ffffffffff/);
    const oomName = uniq('oom');
    const oom = berth(runArgs('--name', oomName, '--memory', '8m', '--memory-swap', '8m', 'sh', '-c', 'x=a; while true; do x="$x$x"; done'));
    assert.equal(oom.status, 137);
    assert.equal(berth(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', oomName]).stdout, 'true 137\n');
    ok(berth(['rm', oomName]));
  });

  test('log rotation: max-size and max-file', () => {
    const name = uniq('rot');
    const r = berth(runArgs('--name', name, '--log-opt', 'max-size=2k', '--log-opt', 'max-file=3', 'sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done'));
    ok(r);
    const id = berth(['inspect', '-f', '{{.Id}}', name]).stdout.trim();
    allIds.add(id);
    const files = readdirSync(join(root, 'containers', id)).filter((f) => f.includes('-json.log')).sort();
    assert.deepEqual(files, [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    const lines = berth(['logs', name]).stdout.split('\n').filter(Boolean);
    assert.ok(lines.length < 200 && lines.length > 30, `${lines.length} lines kept`);
    assert.equal(lines.at(-1), 'line 199');
    for (let i = 1; i < lines.length; i++) assert.equal(Number(lines[i]!.slice(5)), Number(lines[i - 1]!.slice(5)) + 1);
    const rec = JSON.parse(readFileSync(join(root, 'containers', id, `${id}-json.log`), 'utf8').split('\n')[0]!);
    assert.deepEqual(Object.keys(rec), ['log', 'stream', 'time']);
    assert.equal(rec.stream, 'stdout');
    ok(berth(['rm', name]));
  });

  test('20 containers run and removed by parallel CLI invocations: none lost, no leaks', async () => {
    const tag = uniq('par');
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => berthAsync([...runArgs('--rm', '--name', `${tag}-${i}`, '-l', `par=${tag}`, 'sh', '-c', `echo ${i}`)])));
    rs.forEach((r, i) => {
      assert.equal(r.status, 0, `run ${i}: ${r.stderr}`);
      assert.equal(r.stdout, `${i}\n`);
    });
    const ds = await Promise.all(Array.from({ length: 20 }, (_, i) => berthAsync([...runArgs('-d', '--name', `${tag}-d${i}`, '-l', `par=${tag}`, 'sleep', '60')])));
    const ids = ds.map((r) => (assert.equal(r.status, 0, r.stderr), r.stdout.trim()));
    ids.forEach((id) => allIds.add(id));
    assert.equal(new Set(ids).size, 20);
    assert.equal(berth(['ps', '-q', '--filter', `label=par=${tag}`]).stdout.split('\n').filter(Boolean).length, 20);
    const rm = await Promise.all(ids.map((id) => berthAsync(['rm', '-f', id])));
    rm.forEach((r) => assert.equal(r.status, 0, r.stderr));
    assert.equal(berth(['ps', '-aq', '--filter', `label=par=${tag}`]).stdout, '');
    assert.deepEqual(leakedCgroups(new Set(ids)), []);
    for (const id of ids) assert.ok(!existsSync(join(stateRoot, 'containers', id)));
  });

  test('kill -9 of the CLI mid-run, and a wiped state dir, are reconciled by ps -a', async () => {
    const name = uniq('k9');
    const c = spawn(BERTH, ['--root', root, '--state-root', stateRoot, ...runArgs('--name', name, 'sh', '-c', 'sleep 4; exit 5')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (berth(['ps', '-q', '--filter', `name=${name}`]).stdout.trim()) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    c.kill('SIGKILL');
    assert.match(berth(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /^Up /);
    assert.equal(berth(['wait', name]).stdout, '5\n');
    assert.match(berth(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /^Exited \(5\)/);
    // a reboot: monitors and containers gone, /run wiped
    const w = uniq('wiped');
    const d = berth(runArgs('-d', '--name', w, '--restart', 'always', 'sleep', '60'));
    ok(d);
    const id = d.stdout.trim();
    allIds.add(id);
    const pid = Number(berth(['inspect', '-f', '{{.State.Pid}}', w]).stdout);
    for (const m of monitorsOfThisTest()) {
      if (readFileSync(`/proc/${m}/cmdline`, 'utf8').includes(id)) process.kill(m, 'SIGKILL');
    }
    process.kill(pid, 'SIGKILL');
    rmSync(stateRoot, { recursive: true, force: true });
    const ps = berth(['ps', '-a', '--filter', `name=${w}`, '--format', '{{.State}} {{.Status}}']);
    assert.match(ps.stdout, /^exited Exited \(255\)/);
    assert.match(berth(['inspect', '-f', '{{.State.Error}}', w]).stdout, /monitor is gone/);
    assert.deepEqual(leakedCgroups(new Set([id])), []);
    ok(berth(['start', w]));
    ok(berth(['rm', '-f', w, name]));
  });

  test('events', () => {
    const name = uniq('ev');
    ok(berth(runArgs('--rm', '--name', name, 'true')));
    const ev = berth(['events', '--since', '60s', '--until', '0s', '--filter', `container=${name}`]);
    ok(ev);
    const actions = ev.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[2]);
    assert.deepEqual(actions, ['create', 'start', 'die', 'destroy']);
    const js = berth(['events', '--since', '60s', '--until', '0s', '--filter', `container=${name}`, '--filter', 'event=die', '--format', 'json']);
    const e = JSON.parse(js.stdout.trim());
    assert.equal(e.Actor.Attributes.exitCode, '0');
    assert.equal(e.Actor.Attributes.name, name);
  });
});
