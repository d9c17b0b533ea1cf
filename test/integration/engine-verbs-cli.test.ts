// Issue 6's verbs and faults through the `berth` CLI that engine-cli.test.ts leaves out (root):
// create with every listed flag, attach (output, stdin, the ctrl-p ctrl-q
// detach keys on a real terminal), exec -it/-d, logs -f, live stats, bad input that must create
// nothing (no container, no volume). --help of every verb: engine-help-cli.test.ts; the faults:
// engine-faults-cli.test.ts and engine-parallel-cli.test.ts.
// Terminals come from util-linux `script` (a real pty); everything is removed at the end.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { sleep, startCli, until } from '../helpers/cli-procs.js';

const { t, rootfs } = testBerthWithRootfs('verbs');
const cli = () => [BERTH, '--root', t.root, '--state-root', t.stateRoot];
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI on a real terminal (util-linux script): write() types, output collects the screen. */
function onPty(args: string[]) {
  const cmd = cli().concat(args).map(q).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stdin!.on('error', () => {});
  const done = new Promise<number | null>((res) => child.on('close', (s) => res(s)));
  return {
    child, done,
    get output() {
      return output;
    },
    write: (s: string) => child.stdin!.write(s),
    async waitFor(re: RegExp, ms = 20000) {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (re.test(output)) return;
      assert.fail(`no ${re} on the terminal within ${ms} ms; got ${JSON.stringify(output)}`);
    },
  };
}

describe('berth CLI: the verbs of issue 6', () => {
  test('create with every listed flag: inspect shows each one; started, the container has them', () => {
    const name = t.uniq('allflags');
    const vol = t.uniq('allvol');
    const dev = existsSync('/dev/vda') ? '/dev/vda' : '/dev/loop0';
    const c = t.run(['create', '--name', name, '-i', '-t', '-e', 'A=1', '-w', '/tmp', '-u', '1000', '-v', `${vol}:/data`, '--mount', 'type=tmpfs,target=/t2',
      '--tmpfs', '/scratch', '--read-only', '--hostname', 'hh', '--entrypoint', '/bin/sh', '--init', '--restart', 'on-failure:3', '--memory', '64m',
      '--memory-swap', '128m', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '40', '--device', '/dev/null:/dev/mynull',
      '--device-read-bps', `${dev}:1mb`, '--device-write-bps', `${dev}:2mb`, '--device-read-iops', `${dev}:100`, '--device-write-iops', `${dev}:200`,
      '--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', '--security-opt', 'no-new-privileges', '--ulimit', 'nofile=512:1024', '--sysctl', 'net.ipv4.ip_forward=1',
      '--network', 'none', '--label', 'k=v', '--stop-signal', 'SIGUSR1', '--stop-timeout', '7',
      '--health-cmd', 'true', '--health-interval', '5s', '--health-retries', '2', '--health-timeout', '3s', '--health-start-period', '1s',
      'host', '-c', 'sleep 100']);
    ok(c, 'create');
    const [i] = JSON.parse(t.run(['inspect', name]).stdout);
    assert.equal(i.State.Status, 'created');
    const hc = i.HostConfig;
    assert.deepEqual([i.Config.OpenStdin, i.Config.Tty, i.Config.WorkingDir, i.Config.User, i.Config.Hostname, i.Config.Entrypoint, i.Config.Labels.k, i.Config.StopSignal, i.Config.StopTimeout],
      [true, true, '/tmp', '1000', 'hh', ['/bin/sh'], 'v', 'SIGUSR1', 7]);
    assert.ok(i.Config.Env.includes('A=1'));
    assert.deepEqual(i.Config.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 3e9, StartPeriod: 1e9, Retries: 2 });
    assert.deepEqual([hc.ReadonlyRootfs, hc.Init, hc.RestartPolicy, hc.Memory, hc.MemorySwap, hc.NanoCpus, hc.CpuShares, hc.CpusetCpus, hc.PidsLimit, hc.NetworkMode],
      [true, true, { Name: 'on-failure', MaximumRetryCount: 3 }, 64 << 20, 128 << 20, 5e8, 512, '0', 40, 'none']);
    assert.deepEqual(hc.Tmpfs, { '/scratch': '' });
    assert.ok(hc.Mounts.some((m: { Type: string; Target: string }) => m.Type === 'tmpfs' && m.Target === '/t2'));
    assert.ok(hc.Mounts.some((m: { Type: string; Source: string; Target: string }) => m.Type === 'volume' && m.Source === vol && m.Target === '/data'));
    assert.deepEqual(hc.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' }]);
    assert.deepEqual([hc.CapAdd, hc.CapDrop, hc.SecurityOpt, hc.Ulimits, hc.Sysctls], [['NET_ADMIN'], ['CHOWN'], ['no-new-privileges'], [{ Name: 'nofile', Soft: 512, Hard: 1024 }], { 'net.ipv4.ip_forward': '1' }]);
    assert.deepEqual([hc.BlkioDeviceReadBps, hc.BlkioDeviceWriteBps, hc.BlkioDeviceReadIOps, hc.BlkioDeviceWriteIOps],
      [[{ Path: dev, Rate: 1 << 20 }], [{ Path: dev, Rate: 2 << 20 }], [{ Path: dev, Rate: 100 }], [{ Path: dev, Rate: 200 }]]);
    ok(t.run(['start', name]), 'start');
    const ex = t.run(['exec', name, 'sh', '-c', 'id -u; pwd; hostname; echo $A; tr "\\0" " " < /proc/1/cmdline; echo; grep -c " /t2 tmpfs" /proc/mounts; grep -c " /scratch tmpfs" /proc/mounts; touch /x 2>/dev/null || echo rofs; ls /dev/mynull; ulimit -n; grep NoNewPrivs /proc/self/status']);
    ok(ex, 'exec');
    assert.equal(ex.stdout, '1000\n/tmp\nhh\n1\n/sbin/berth-init init /bin/sh -c sleep 100 \n1\n1\nrofs\n/dev/mynull\n512\nNoNewPrivs:\t1\n');
    const id = i.Id as string;
    if (existsSync(`/sys/fs/cgroup/pids/berth/${id}`)) assert.equal(readFileSync(`/sys/fs/cgroup/pids/berth/${id}/pids.max`, 'utf8').trim(), '40');
    if (existsSync(`/sys/fs/cgroup/memory/berth/${id}`)) assert.equal(readFileSync(`/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`, 'utf8').trim(), String(64 << 20));
    ok(t.run(['rm', '-f', '-v', name]));
    ok(t.run(['volume', 'rm', vol]));
  });

  test('flags whose effect no other engine test checks: seccomp profile and unconfined, --log-driver cri, --stop-signal, cpu cgroup files, --storage-opt size', () => {
    const profile = join(t.dir, 'seccomp.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const sec = t.run(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${profile}`, 'host', 'sh', '-c', 'mkdir /tmp/zz 2>/dev/null && echo made || echo refused; grep Seccomp: /proc/self/status']);
    ok(sec, 'seccomp profile');
    assert.equal(sec.stdout, 'refused\nSeccomp:\t2\n');
    assert.equal(t.run(['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=unconfined', 'host', 'grep', 'Seccomp:', '/proc/self/status']).stdout, 'Seccomp:\t0\n');
    assert.equal(t.run(['run', '--rm', '--network', 'none', 'host', 'grep', 'Seccomp:', '/proc/self/status']).stdout, 'Seccomp:\t2\n', 'the default profile');
    const bad = t.run(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${join(t.dir, 'nope.json')}`, 'host', 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /seccomp profile/);
    // the CRI log format: "TIME STREAM F|P line", and logs reads it back per stream
    const cri = t.uniq('cri');
    ok(t.run(['run', '--name', cri, '--network', 'none', '--log-driver', 'cri', 'host', 'sh', '-c', 'echo a; echo b >&2; printf partial']));
    const lines = readFileSync(t.run(['inspect', '-f', '{{.LogPath}}', cri]).stdout.trim(), 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /, '')), ['stdout F a', 'stderr F b', 'stdout P partial']);
    const lg = t.run(['logs', cri]);
    assert.deepEqual([lg.stdout, lg.stderr], ['a\npartial', 'b\n']);
    // --stop-signal: stop sends it, the trap answers
    const ss = t.uniq('stopsig');
    ok(t.run(['run', '-d', '--name', ss, '--network', 'none', '--stop-signal', 'SIGUSR1', '--cpu-shares', '512', '--cpuset-cpus', '0', '--rootfs', rootfs, 'sh', '-c',
      'trap "echo usr1; exit 12" USR1; trap "echo term; exit 13" TERM; echo ready; while true; do sleep 0.05; done']));
    const id = t.run(['inspect', '-f', '{{.Id}}', ss]).stdout.trim();
    if (existsSync(`/sys/fs/cgroup/cpu/berth/${id}`)) assert.equal(readFileSync(`/sys/fs/cgroup/cpu/berth/${id}/cpu.shares`, 'utf8').trim(), '512');
    if (existsSync(`/sys/fs/cgroup/cpuset/berth/${id}`)) assert.equal(readFileSync(`/sys/fs/cgroup/cpuset/berth/${id}/cpuset.cpus`, 'utf8').trim(), '0');
    for (let i = 0; i < 200 && !t.run(['logs', ss]).stdout.includes('ready'); i++) spawnSync('sleep', ['0.05']);
    ok(t.run(['stop', '-t', '30', ss]));
    assert.equal(t.run(['inspect', '-f', '{{.State.ExitCode}}', ss]).stdout, '12\n');
    assert.equal(t.run(['logs', ss]).stdout, 'ready\nusr1\n');
    // --storage-opt size= caps the writable layer of an image container
    const full = t.run(['run', '--rm', '--network', 'none', '--storage-opt', 'size=32m', 'host', 'sh', '-c', 'head -c 64000000 /dev/zero > /opt/berth-fill 2>/dev/null; echo $?; ls -l /opt/berth-fill | awk "{print \\$5}"']);
    ok(full, 'storage-opt');
    const [rc, size] = full.stdout.trim().split('\n');
    assert.notEqual(rc, '0', 'writing past the cap fails');
    assert.ok(Number(size) < 40_000_000 && Number(size) > 16_000_000, `${size} bytes written under a 32m cap`);
    ok(t.run(['rm', cri, ss]));
  });

  test('attach: output and status of a running container', async () => {
    const name = t.uniq('att');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', `echo early; while [ ! -e /tmp/go-${name} ]; do sleep 0.05; done; echo late; echo err >&2; exit 7`]));
    const since = new Date(Date.now() - 1000).toISOString();
    const a = startCli(t, ['attach', '--no-stdin', name]);
    // attach is recorded once the monitor's socket is connected: then the trigger cannot be missed
    await until('the attach event', () => t.run(['events', '--since', since, '--until', '0s', '--filter', `container=${name}`, '--filter', 'event=attach']).stdout.trim());
    ok(t.run(['exec', name, 'touch', `/tmp/go-${name}`]));
    const r = await a.done;
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stdout, 'late\n', 'attach shows what comes after it, not the log');
    assert.equal(r.stderr, 'err\n');
    const gone = t.run(['attach', name]);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /You cannot attach to a stopped container, start it first/);
    const nf = t.run(['attach', t.uniq('nosuch')]);
    assert.equal(nf.status, 1);
    assert.match(nf.stderr, /No such container/);
    ok(t.run(['rm', name]));
  });

  // the container answers and exits while the CLI is still sending (its end of stdin): the
  // monitor must not close under that write, or the CLI's socket drops what it had not read yet
  test('attach with stdin (-i container): what the container answers reaches the attached CLI (12 times)', async () => {
    let lost = 0;
    for (let i = 0; i < 12; i++) {
      const iname = t.uniq('atti');
      ok(t.run(['run', '-d', '-i', '--name', iname, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'read l; echo "got $l"; exit 3']));
      const ri = await startCli(t, ['attach', iname], 'hello\n').done;
      assert.equal(ri.status, 3, ri.stderr);
      assert.equal(t.run(['logs', iname]).stdout, 'got hello\n');
      if (ri.stdout !== 'got hello\n') lost++;
      ok(t.run(['rm', iname]));
    }
    assert.equal(lost, 0, `${lost} of 12 answers missed by attach`);
  });

  test('attach: a client that half-closes after its stdin still gets the answer and the exit frame (5 times)', async () => {
    // docker's client ends stdin with a half-close (CloseWrite): the monitor must keep the
    // connection for output until the container exits, not drop it at the client's EOF
    for (let i = 0; i < 5; i++) {
      const name = t.uniq('athc');
      const run = t.run(['run', '-d', '-i', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'read l; echo "got $l"; exit 3']);
      ok(run);
      const sock = connect({ path: join(t.stateRoot, 'containers', run.stdout.trim(), 'attach.sock'), allowHalfOpen: true });
      const got: Buffer[] = [];
      sock.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise<void>((res, rej) => {
        sock.on('close', () => res());
        sock.on('error', rej);
      });
      await new Promise<void>((res) => sock.once('connect', () => res()));
      const payload = Buffer.from('hello\n');
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32BE(payload.length, 4); // stream 0: stdin
      sock.end(Buffer.concat([hdr, payload]));
      await Promise.race([closed, sleep(30000).then(() => assert.fail('the monitor never closed the connection'))]);
      const frames: [number, string][] = [];
      for (let b = Buffer.concat(got); b.length >= 8; ) {
        const len = b.readUInt32BE(4);
        frames.push([b[0]!, b.subarray(8, 8 + len).toString()]);
        b = b.subarray(8 + len);
      }
      assert.deepEqual(frames, [[1, 'got hello\n'], [5, '3']], `run ${i}`);
      ok(t.run(['rm', name]));
    }
  });

  test('attach -it on a terminal: typing reaches the shell, ctrl-p ctrl-q detaches and leaves it running; --detach-keys', async () => {
    const name = t.uniq('atty');
    ok(t.run(['run', '-d', '-i', '-t', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh']));
    for (const [keys, seq] of [[undefined, '\x10\x11'], ['ctrl-x,y', '\x18y']] as const) {
      const p = onPty(['attach', ...(keys ? ['--detach-keys', keys] : []), name]);
      await sleep(300); // the attach connects; typed bytes before that are kept by the terminal anyway
      p.write('echo sum-$((6*7))\r');
      await p.waitFor(/sum-42/);
      p.write(seq);
      const code = await Promise.race([p.done, sleep(20000).then(() => 'hung')]);
      if (code === 'hung') p.child.kill('SIGKILL');
      assert.equal(code, 0, `detach with ${JSON.stringify(seq)}: ${JSON.stringify(p.output)}`);
      assert.equal(t.run(['inspect', '-f', '{{.State.Status}}', name]).stdout, 'running\n', 'the container keeps running after a detach');
    }
    // exit through the terminal: attach returns the shell's status
    const p = onPty(['attach', name]);
    await sleep(300);
    p.write('exit 5\r');
    assert.equal(await p.done, 5);
    assert.equal(t.run(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout, 'exited 5\n');
    ok(t.run(['rm', name]));
  });

  test('exec -it on a terminal, exec -d in the background', async () => {
    const name = t.uniq('ex');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '300']));
    const p = onPty(['exec', '-it', '-e', 'E=x', '-u', 'nobody', '-w', '/tmp', name, 'sh', '-c', 'tty; echo "$E $(id -u) $(pwd) $TERM"; read l; echo "read $l"; exit 3']);
    await p.waitFor(/x 65534 \/tmp xterm/);
    p.write('typed\r');
    assert.equal(await p.done, 3);
    assert.match(p.output, /\/dev\/pts\/\d+\r\n/);
    assert.match(p.output, /read typed/);
    // exec -d returns while its command still waits for the trigger file: no timing involved
    // (the --rootfs directory is shared by this file's containers: names are per container)
    const go = `/tmp/go-${name}`;
    const bg = `/tmp/bg-${name}`;
    const d = t.run(['exec', '-d', name, 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; echo done > ${bg}`]);
    ok(d, 'exec -d');
    assert.equal(d.stdout, '');
    assert.equal(t.run(['exec', name, 'cat', bg]).status, 1, 'nothing written yet');
    ok(t.run(['exec', name, 'touch', go]));
    await until('exec -d\'s file', () => t.run(['exec', name, 'cat', bg]).stdout === 'done\n');
    ok(t.run(['rm', '-f', name]));
  });

  // the CLI sends the terminal's size as it starts, when a quick container may be gone already
  test('run -t on a terminal: the output of a short command is never lost (10 runs)', async () => {
    let lost = 0;
    for (let i = 0; i < 10; i++) {
      const p = onPty(['run', '--rm', '-t', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', `echo out-${i}; exit 2`]);
      const code = await p.done;
      assert.equal(code, 2);
      if (!p.output.includes(`out-${i}`)) lost++;
    }
    assert.equal(lost, 0, `${lost} of 10 outputs lost`);
  });

  test('logs -f follows until the container exits; --tail with -f; -t', async () => {
    const name = t.uniq('logf');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', `echo one; echo two; while [ ! -e /tmp/go-${name} ]; do sleep 0.05; done; echo three; exit 0`]));
    const all = startCli(t, ['logs', '-f', name]);
    const tail = startCli(t, ['logs', '-f', '--tail', '1', '-t', name]);
    await until('logs -f to print the first lines', () => {
      for (const p of [all, tail]) if (p.child.exitCode !== null) assert.fail(`logs -f ended early (${p.child.exitCode}): ${p.stdout()}`);
      return all.stdout().includes('two\n') && tail.stdout().includes('two\n');
    }, 30000);
    ok(t.run(['exec', name, 'touch', `/tmp/go-${name}`]));
    const [ra, rt] = await Promise.all([all.done, tail.done]);
    assert.equal(ra.status, 0, ra.stderr);
    assert.equal(ra.stdout, 'one\ntwo\nthree\n', 'logs -f ends when the container exits');
    assert.equal(rt.status, 0, rt.stderr);
    assert.match(rt.stdout, /^\S+Z two\n\S+Z three\n$/);
    ok(t.run(['rm', name]));
  });

  test('stats without --no-stream keeps printing frames until stopped', async () => {
    const name = t.uniq('stats');
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '300']));
    const s = startCli(t, ['stats', name]);
    let out = '';
    s.child.stdout!.on('data', (d) => (out += d));
    await until('two stats frames', () => (out.match(new RegExp(`\\s${name}\\s+\\d+\\.\\d\\d%`, 'g')) ?? []).length >= 2, 30000);
    assert.equal(s.child.exitCode, null, 'live stats is still running');
    s.child.kill('SIGINT');
    await s.done;
    assert.match(out, /CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS/);
    const ns = t.run(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', name]);
    ok(ns);
    assert.equal(ns.stdout, `${name} 1\n`);
    ok(t.run(['rm', '-f', name]));
  });

  test('bad input: 125, a docker-style message, and nothing created (no container, no volume)', async () => {
    const busy = t.uniq('busy');
    const port = 20000 + Math.floor(Math.random() * 20000);
    ok(t.run(['run', '-d', '--name', busy, '-p', `127.0.0.1:${port}:80`, 'host', 'sleep', '300']), 'the port holder');
    const before = { ps: t.run(['ps', '-aq', '--no-trunc']).stdout, vols: t.run(['volume', 'ls', '-q']).stdout };
    const vol = t.uniq('fresh'); // must not be created by any failed run
    const cases: [string[], RegExp][] = [
      [['run', '--rm', '-v', `${vol}:/v`, '--memory', '12x', 'host', 'true'], /invalid argument "12x" for "-m, --memory" flag/],
      [['create', '-v', `${vol}:/v`, '--memory', '12x', 'host', 'true'], /invalid argument "12x" for "-m, --memory" flag/],
      [['run', '--rm', '-v', `${vol}:/v`, '--pull', 'never', `nosuchimage-${process.pid}`, 'true'], /No such image: nosuchimage/],
      [['create', '-v', `${vol}:/v`, '--pull', 'never', `nosuchimage-${process.pid}`, 'true'], /No such image: nosuchimage/],
      [['run', '--rm', '-v', `${vol}:/v`, '--name', busy, 'host', 'true'], new RegExp(`The container name "/${busy}" is already in use`)],
      [['create', '-v', `${vol}:/v`, '--name', busy, 'host', 'true'], new RegExp(`The container name "/${busy}" is already in use`)],
      [['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'host', 'true'], /port is already allocated/],
      [['run', '--rm', '-v', `${vol}:/x`, '-v', `${vol}-2:/x`, 'host', 'true'], /Duplicate mount point: \/x/],
      [['run', '--rm', '-v', `${vol}:/x`, '--tmpfs', '/x', 'host', 'true'], /Duplicate mount point: \/x/],
      [['run', '--rm', '-v', `${vol}:/v`, '--network', `nosuchnet-${process.pid}`, 'host', 'true'], /network nosuchnet-\d+ not found/],
      [['run', '--rm', '-v', `${vol}:/v`, '--no-such-flag', 'host', 'true'], /unknown flag: --no-such-flag/],
      [['run', '--rm', '-v', `${vol}:/v`, '--cpus', 'lots', 'host', 'true'], /--cpus/],
      [['run', '--rm', '-v', `${vol}:/v`, '--ulimit', 'nofile=x', 'host', 'true'], /ulimit/],
      [['run', '--rm', '-v', `${vol}:/v`, '--restart', 'on-failure:x', 'host', 'true'], /restart/],
      [['run', '--rm', '-v', `${vol}:/v`, '--device', '/dev/nosuchdevice', 'host', 'true'], /nosuchdevice/],
    ];
    for (const [args, msg] of cases) {
      const r = t.run(args);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, args.join(' '));
      assert.equal(t.run(['ps', '-aq', '--no-trunc']).stdout, before.ps, `${args.join(' ')} left a container`);
      assert.equal(t.run(['volume', 'ls', '-q']).stdout, before.vols, `${args.join(' ')} left a volume`);
    }
    // the port is still the holder's, and it still answers on its address
    assert.match(t.run(['port', busy]).stdout, new RegExp(`80/tcp -> 127\\.0\\.0\\.1:${port}`));
    ok(t.run(['rm', '-f', busy]));
  });

  test('a port conflict creates nothing, not even the named volume the run asked for', () => {
    const busy = t.uniq('busy');
    const port = 20000 + Math.floor(Math.random() * 20000);
    ok(t.run(['run', '-d', '--name', busy, '-p', `127.0.0.1:${port}:80`, 'host', 'sleep', '300']), 'the port holder');
    const vol = t.uniq('fresh');
    const before = t.run(['ps', '-aq', '--no-trunc']).stdout;
    try {
      const r = t.run(['run', '--rm', '-v', `${vol}:/v`, '-p', `127.0.0.1:${port}:80`, 'host', 'true']);
      assert.equal(r.status, 125, r.stderr);
      assert.match(r.stderr, /port is already allocated/);
      assert.equal(t.run(['volume', 'ls', '-q', '--filter', `name=${vol}`]).stdout, '', 'the volume was created');
      // create too (docker: the same message, exit 125), and no container is left
      const c = t.run(['create', '-v', `${vol}:/v`, '-p', `127.0.0.1:${port}:80`, 'host', 'true']);
      assert.equal(c.status, 125, c.stderr);
      assert.match(c.stderr, /port is already allocated/);
      assert.equal(t.run(['ps', '-aq', '--no-trunc']).stdout, before, 'a container was left');
      assert.equal(t.run(['volume', 'ls', '-q', '--filter', `name=${vol}`]).stdout, '', 'the volume was created');
    } finally {
      t.run(['rm', '-f', busy]);
      t.run(['volume', 'rm', '-f', vol]);
    }
  });
});
