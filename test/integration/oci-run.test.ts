// berth-oci run: what the container's process sees (namespaces, mounts, devices, ids, caps...).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { BERTH_OCI, makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));

function bundle(args: string[], edit?: Parameters<typeof makeBundle>[1]): Bundle {
  const b = makeBundle(args, edit);
  made.push(b);
  return b;
}

function sh(script: string, edit?: Parameters<typeof makeBundle>[1]) {
  const b = bundle(['sh', '-c', script], edit);
  const r = runIn(b);
  return { ...r, b };
}

describe('berth-oci run', () => {
  test('returns the exit status and prints the output', () => {
    const r = sh('echo hello; exit 3');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.status, 3);
  });

  test('passes stdin through in the foreground', () => {
    const b = bundle(['sh', '-c', 'read x; echo "got $x"']);
    const r = runIn(b, { input: 'ping\n' });
    assert.equal(r.stdout, 'got ping\n');
    assert.equal(r.status, 0);
  });

  test('kill reaches a foreground container; its status is 128+signal', async () => {
    const b = bundle(['sleep', '100']);
    const child = spawn(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '--bundle', b.dir, b.id], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    for (let i = 0; i < 200 && !/running/.test(oci(b, ['state', b.id]).stdout); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(oci(b, ['kill', b.id, 'KILL']).status, 0);
    assert.equal(await exited, 137);
  });

  test('the process runs in new namespaces', () => {
    const r = sh('for n in pid net mnt uts ipc cgroup; do readlink /proc/self/ns/$n; done; echo pid=$$', (s) => {
      s.linux!.namespaces!.push({ type: 'cgroup' });
      s.linux!.namespaces = s.linux!.namespaces!.filter((n, i, a) => a.findIndex((m) => m.type === n.type) === i);
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const host = ['pid', 'net', 'mnt', 'uts', 'ipc', 'cgroup'].map((n) => readlinkSync(`/proc/self/ns/${n}`));
    for (let i = 0; i < host.length; i++) assert.notEqual(lines[i], host[i], `namespace ${lines[i]} should differ from the host's`);
    assert.equal(lines[6], 'pid=1');
  });

  test('a new network namespace keeps lo down, as runc leaves it (only the engine brings it up)', () => {
    const r = sh('cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 || echo unreachable');
    assert.deepEqual([r.status, r.stdout], [0, 'down\n0x8\nunreachable\n'], r.stderr);
  });

  test('joins a namespace given by path', () => {
    const ns = `berth-t-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const r = sh('readlink /proc/self/ns/net', (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: `/var/run/netns/${ns}` } : n));
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `net:[${statSync(`/var/run/netns/${ns}`).ino}]`);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  test('hostname, domainname, env, cwd and ids', () => {
    const r = sh('hostname; cat /proc/sys/kernel/domainname; echo "$FOO"; pwd; id -u; id -g; id -G; umask', (s) => {
      s.hostname = 'box1';
      s.domainname = 'example.org';
      s.process!.env!.push('FOO=bar baz');
      s.process!.cwd = '/tmp';
      s.process!.user = { uid: 1000, gid: 1001, additionalGids: [5, 7], umask: 0o027 };
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['box1', 'example.org', 'bar baz', '/tmp', '1000', '1001', '1001 5 7', '0027']);
  });

  test('a missing cwd is an error naming it', () => {
    const r = sh('true', (s) => (s.process!.cwd = '/nonexistent'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cwd.*nonexistent/);
  });

  test('capabilities: the five sets as configured', () => {
    const r = sh('grep ^Cap /proc/self/status', (s) => {
      s.process!.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
        effective: ['CAP_CHOWN', 'CAP_KILL'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_KILL'],
      };
    });
    assert.equal(r.status, 0, r.stderr);
    const caps = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(':\t')));
    // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_RAW=13
    assert.equal(caps.CapBnd, (1n | (1n << 5n) | (1n << 13n)).toString(16).padStart(16, '0'));
    assert.equal(caps.CapEff, (1n | (1n << 5n)).toString(16).padStart(16, '0'));
    assert.equal(caps.CapPrm, (1n | (1n << 5n)).toString(16).padStart(16, '0'));
    assert.equal(caps.CapInh, (1n << 5n).toString(16).padStart(16, '0'));
    assert.equal(caps.CapAmb, (1n << 5n).toString(16).padStart(16, '0'));
  });

  test('an unknown capability fails create and leaves nothing', () => {
    const r = sh('true', (s) => (s.process!.capabilities!.bounding = ['CAP_FLY']));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CAP_FLY/);
    assert.equal(oci(r.b, ['list', '-q']).stdout, '');
  });

  test('rlimits are applied; above the host hard limit is a clear error', () => {
    const ok = sh('ulimit -n; ulimit -Hn', (s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 }]));
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split('\n'), ['512', '1000']);
    const hard = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!.split(/\s+/)[4]!;
    const bad = sh('true', (s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: Number(hard) + 1 }]));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /RLIMIT_NOFILE hard limit .* above this host's hard limit/);
  });

  test('mounts: proc, tmpfs with options, bind read-only, devices and /dev links', () => {
    const b = bundle(
      ['sh', '-c',
        'grep -E " /(proc|dev|dev/pts|dev/shm|sys|data|scratch) " /proc/self/mountinfo | awk \'{print $5, $6}\'; ' +
        'ls /dev; (echo x > /data/f) 2>/dev/null && echo WROTE || echo RO; cat /data/hello; for l in fd stdin ptmx; do readlink /dev/$l; done'],
      (s) => {
        s.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'mode=700'] });
        // a source relative to the bundle
        s.mounts!.push({ destination: '/data', type: 'bind', source: 'datadir', options: ['rbind', 'ro'] });
      },
    );
    mkdirSync(join(b.dir, 'datadir'));
    writeFileSync(join(b.dir, 'datadir', 'hello'), 'world\n');
    const r2 = runIn(b);
    assert.equal(r2.status, 0, r2.stderr);
    const out = r2.stdout;
    assert.match(out, /^\/proc rw,/m);
    assert.match(out, /^\/sys ro,/m);
    assert.match(out, /^\/data ro,/m);
    assert.match(out, /^\/scratch rw,nosuid/m);
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'mqueue', 'fd', 'stdin', 'stdout', 'stderr', 'ptmx']) {
      assert.match(out, new RegExp(`^${d}$`, 'm'), `/dev/${d} missing`);
    }
    assert.match(out, /^RO$/m);
    assert.match(out, /^world$/m);
    assert.match(out, /^\/proc\/self\/fd\n\/proc\/self\/fd\/0\npts\/ptmx$/m);
  });

  test('a mount destination symlinked out of the rootfs stays inside it', () => {
    const b = bundle(['sh', '-c', 'cat /escape/marker 2>&1; ls /'], (s) => {
      s.mounts!.push({ destination: '/escape', type: 'tmpfs', source: 'tmpfs', options: [] });
    });
    // /escape -> /tmp/hostdir on the host; inside, it must resolve within the rootfs
    const hostDir = join(b.dir, 'hostdir');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'marker'), 'host');
    symlinkSync(hostDir, join(b.rootfs, 'escape'));
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^host$/m);
    // the host directory was not covered by the tmpfs
    assert.equal(readFileSync(join(hostDir, 'marker'), 'utf8'), 'host');
    assert.equal(statSync(hostDir).isDirectory(), true);
  });

  test('masked paths are unreadable and read-only paths unwritable', () => {
    const r = sh('cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sysrq-trigger && echo WROTE || echo DENIED');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', '0', 'DENIED']);
  });

  test('read-only root and sysctl', () => {
    const r = sh('(touch /x) 2>/dev/null && echo WROTE || echo RO; cat /proc/sys/net/ipv4/ip_forward', (s) => {
      s.root!.readonly = true;
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['RO', '1']);
  });

  test('linux.devices creates device nodes with the given mode', () => {
    const r = sh('ls -l /dev/mynull; echo hi > /dev/mynull && echo OK', (s) => {
      s.linux!.devices = [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o620, uid: 0, gid: 0 }];
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^crw--w----\s+1 root\s+root\s+1,\s+3 /m);
    assert.match(r.stdout, /^OK$/m);
  });

  test('oomScoreAdj and noNewPrivileges', () => {
    const r = sh('cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status', (s) => {
      s.process!.oomScoreAdj = 500;
      s.process!.noNewPrivileges = true;
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^500$/m);
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
  });

  test('personality, I/O priority, scheduler and CPU affinity', () => {
    const r = sh('uname -m; grep -E "^policy" /proc/self/sched | tr -s " "; grep Cpus_allowed_list /proc/self/status; cat /proc/self/stat | cut -d" " -f19', (s) => {
      s.linux!.personality = { domain: 'LINUX32' };
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 5 };
      s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
      s.process!.execCPUAffinity = { final: '0' };
    });
    assert.equal(r.status, 0, r.stderr);
    const [arch, policy, cpus, nice] = r.stdout.trim().split('\n');
    assert.match(arch!, /^i[3-6]86$/);
    assert.match(policy!, /policy : 3$/);
    assert.match(cpus!, /Cpus_allowed_list:\s+0$/);
    assert.equal(nice, '7');
  });

  test('an unknown personality domain or intelRdt is a clear error', () => {
    const r = sh('true', (s) => (s.linux!.intelRdt = { closID: 'x' }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /intelRdt/);
  });

  test('an executable that does not exist: clear error, nothing left', () => {
    const b = bundle(['/bin/nonexistent']);
    const r = runIn(b);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /nonexistent.*(not found|no such file)/i);
    assert.equal(oci(b, ['list', '-q']).stdout, '');
  });

  test('user namespace: root inside is mapped outside; files on a bind mount get the mapped owner', () => {
    const b = bundle(['sh', '-c', 'id -u; cat /proc/self/uid_map; touch /shared/made-inside'], (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.mounts!.push({ destination: '/shared', type: 'bind', source: 'shared', options: ['rbind'] });
    });
    mkdirSync(join(b.dir, 'shared'));
    chmodSync(join(b.dir, 'shared'), 0o777);
    chmodSync(b.dir, 0o755); // the mapped root must be able to reach the rootfs
    execFileSync('chown', ['-R', '200000:200000', b.rootfs]); // and own it, to make mount points
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^0\n\s+0\s+200000\s+65536\n$/);
    const st = statSync(join(b.dir, 'shared', 'made-inside'));
    assert.equal(st.uid, 200000);
    assert.equal(st.gid, 200000);
  });

  test('time namespace offsets', () => {
    const r = sh('cat /proc/uptime', (s) => {
      s.linux!.namespaces!.push({ type: 'time' });
      s.linux!.timeOffsets = { boottime: { secs: 86400 * 365 } };
    });
    assert.equal(r.status, 0, r.stderr);
    const up = Number(r.stdout.split(' ')[0]);
    assert.ok(up > 86400 * 365, `uptime ${up} should include the offset`);
  });
});

