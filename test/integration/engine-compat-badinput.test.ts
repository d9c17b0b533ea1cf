// Bad input on run/create/exec/update/stop/kill/rm through the real `berth` CLI (root), compared
// with docker's exit codes and messages (docker CLI 28's flag errors, moby's daemon messages):
// each refusal exits as docker does, says what docker says, and leaves no container, volume or
// cgroup behind. The pure parsing is in test/unit/engine-badinput.test.ts.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { ok, testBerthWithRootfs } from '../helpers/berth-cli.js';
import { haveRegistry, startRegistry, type TestRegistry } from '../helpers/registry.js';

// a private berth and rootfs; its cleanup removes what is left and checks mounts, monitors and
// the cgroups of containers still listed
const { t, rootfs } = testBerthWithRootfs('badinput');
const berth = (args: string[]) => t.run(args);
const tag = `bi${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const run = (...a: string[]) => ['run', '--rm', '--network', 'none', ...a, '--rootfs', rootfs];

// and the cgroups of every container a test made, removed or not
const ids = new Set<string>();
after(() => {
  const out: string[] = [];
  for (const h of ['memory', 'pids', 'cpu', 'cpuset', 'freezer', 'unified']) {
    const d = `/sys/fs/cgroup/${h}/berth`;
    if (existsSync(d)) for (const e of readdirSync(d)) if (ids.has(e)) out.push(`${d}/${e}`);
  }
  assert.deepEqual(out, [], 'leaked cgroups');
});

describe('bad input, as docker refuses it', () => {
  test('run: refused with exit 125 and docker\'s message, nothing created', () => {
    const cpusetAvail = /requested 999, available: [\d,-]+$/m;
    const cases: [string[], RegExp][] = [
      // docker CLI's flag errors: no "Error:" prefix
      [run('--memory', '12x'), /^invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'$/m],
      [run('--ulimit', 'nofile=bad'), /^invalid argument "nofile=bad" for "--ulimit" flag: strconv\.ParseInt: parsing "bad": invalid syntax$/m],
      [run('--ulimit', 'nosuch=1'), /^invalid argument "nosuch=1" for "--ulimit" flag: invalid ulimit type: nosuch$/m],
      [run('--sysctl', 'kernel.foo=1'), /^invalid argument "kernel\.foo=1" for "--sysctl" flag: sysctl 'kernel\.foo=1' is not allowed$/m],
      [run('--sysctl', 'net.ipv4.ip_forward'), /^invalid argument "net\.ipv4\.ip_forward" for "--sysctl" flag: sysctl 'net\.ipv4\.ip_forward' is not allowed$/m],
      [run('--label', '=x'), /^invalid argument "=x" for "-l, --label" flag: invalid label '=x': empty name$/m],
      [run('--label', ''), /^invalid argument "" for "-l, --label" flag: invalid label '': empty name$/m],
      [run('-e', '=x'), /^invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x$/m],
      [run('--mount', 'type=bind'), /^invalid argument "type=bind" for "--mount" flag: target is required$/m],
      // docker's daemon-side refusals (berth has no daemon: "berth: Error: ...")
      [run('--cpuset-cpus', '7-3'), /Error: Invalid value 7-3 for cpuset cpus: invalid format: 7-3$/m],
      [run('--cpuset-cpus', '999'), /Error: Requested CPUs are not available - requested 999, available: /m],
      [run('--security-opt', 'seccomp=/nonexistent'), /Error: opening seccomp profile \(\/nonexistent\) failed: open \/nonexistent: no such file or directory$/m],
      [run('--security-opt', 'bogus'), /Error: Invalid --security-opt: "bogus"$/m],
      [run('--cap-add', 'NOSUCH'), /Error: invalid CapAdd: unknown capability: "CAP_NOSUCH"$/m],
      [run('--cap-drop', 'nope'), /Error: invalid CapDrop: unknown capability: "CAP_NOPE"$/m],
      [run('--restart', 'bogus'), /Error: invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'$/m],
      [['run', '--network', 'none', '--restart', 'on-failure:-1', '--rootfs', rootfs], /Error: invalid restart policy: maximum retry count cannot be negative$/m],
      [run('--restart', 'always'), /Error: conflicting options: cannot specify both --restart and --rm$/m],
      [run('-v', '/tmp:/b:badmode'), /Error: invalid mode: badmode$/m],
      [run('-v', '.:/x'), /Error: create \.: volume name is too short, names should be at least two alphanumeric characters$/m],
      [run('-v', 'rel/dir:/x'), /Error: create rel\/dir: "rel\/dir" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed\. If you intended to pass a host directory, use absolute path$/m],
    ];
    for (const [i, [args, re]] of cases.entries()) {
      // an anonymous volume and a name ride along: neither may be left behind
      const name = `${tag}-r${i}`;
      const r = berth([args[0]!, '--name', name, '-v', '/anon', ...args.slice(1), 'true']);
      assert.equal(r.status, 125, `${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      if (re.source.includes('999')) assert.match(r.stderr, cpusetAvail);
    }
    assert.equal(berth(['ps', '-aq']).stdout, '', 'no container left');
    assert.equal(berth(['volume', 'ls', '-q']).stdout, '', 'no anonymous volume left');
    assert.equal(berth(['create', '--label', '=x', '--rootfs', rootfs, 'true']).status, 125, 'create refuses the same');
    const short = berth(['volume', 'create', 'a']);
    assert.equal(short.status, 1, short.stderr);
    assert.equal(short.stderr, 'Error: create a: volume name is too short, names should be at least two alphanumeric characters\n');
    assert.equal(berth(['volume', 'ls', '-q']).stdout, '', 'no volume made');
    assert.equal(berth(['ps', '-aq']).stdout, '');
  });

  test('run: docker adapts --cpu-shares 1 to the kernel minimum (2) instead of refusing it', () => {
    const name = `${tag}-shares`;
    const r = berth(['run', '-d', '--network', 'none', '--name', name, '--cpu-shares', '1', '--rootfs', rootfs, 'sleep', '300']);
    ok(r, 'run --cpu-shares 1');
    const id = r.stdout.trim();
    ids.add(id);
    assert.equal(berth(['inspect', '-f', '{{.HostConfig.CpuShares}}', name]).stdout.trim(), '2');
    const file = `/sys/fs/cgroup/cpu/berth/${id}/cpu.shares`;
    if (existsSync(file)) assert.equal(readFileSync(file, 'utf8').trim(), '2');
    ok(berth(['rm', '-f', name]), 'rm -f');
  });

  test('update: --cpus beyond the host and CPUs it lacks are refused, nothing changes', () => {
    const name = `${tag}-upd`;
    const r = berth(['run', '-d', '--network', 'none', '--name', name, '--cpus', '0.5', '--rootfs', rootfs, 'sleep', '300']);
    ok(r, 'run -d');
    ids.add(r.stdout.trim());
    const cpus = berth(['update', '--cpus', '9999', name]);
    assert.equal(cpus.status, 1, cpus.stderr);
    assert.match(cpus.stderr, /^Error: Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available$/m);
    const set = berth(['update', '--cpuset-cpus', '999', name]);
    assert.equal(set.status, 1, set.stderr);
    assert.match(set.stderr, /Requested CPUs are not available - requested 999, available: /);
    assert.equal(berth(['inspect', '-f', '{{.HostConfig.NanoCpus}} {{.HostConfig.CpusetCpus}}', name]).stdout.trim(), '500000000');
    ok(berth(['update', '--cpu-shares', '1', name]), 'update --cpu-shares 1');
    assert.equal(berth(['inspect', '-f', '{{.HostConfig.CpuShares}}', name]).stdout.trim(), '2');
    ok(berth(['rm', '-f', name]), 'rm -f');
  });

  test('exec in a paused container names it as given; verbs on a missing container exit 1', () => {
    const name = `${tag}-paused`;
    const r = berth(['run', '-d', '--network', 'none', '--name', name, '--rootfs', rootfs, 'sleep', '300']);
    ok(r, 'run -d');
    ids.add(r.stdout.trim());
    ok(berth(['pause', name]), 'pause');
    const e = berth(['exec', name, 'true']);
    assert.equal(e.status, 1, e.stderr);
    assert.equal(e.stderr, `Error: Container ${name} is paused, unpause the container before exec\n`);
    const rmPaused = berth(['rm', name]);
    assert.equal(rmPaused.status, 1, rmPaused.stderr);
    assert.equal(rmPaused.stderr, `Error: cannot remove container "/${name}": container is paused and must be unpaused first\n`);
    ok(berth(['unpause', name]), 'unpause');
    const rmRunning = berth(['rm', name]);
    assert.equal(rmRunning.status, 1, rmRunning.stderr);
    assert.equal(rmRunning.stderr, `Error: cannot remove container "/${name}": container is running: stop the container before removing or force remove\n`);
    ok(berth(['rm', '-f', name]), 'rm -f');
    const missing = `${tag}-missing`;
    for (const verb of [['stop'], ['kill'], ['rm'], ['start'], ['update', '--memory', '64m']]) {
      const m = berth([...verb, missing]);
      assert.equal(m.status, 1, `${verb[0]}: ${m.stderr}`);
      assert.match(m.stderr, new RegExp(`No such container: ${missing}$`, 'm'), verb[0]);
    }
  });

  test("stop/restart: docker 28's -t, --timeout, and --time still taken with pflag's notice", () => {
    const bad = berth(['stop', '-t', 'x', `${tag}-none`]);
    assert.equal(bad.status, 125, bad.stderr);
    assert.match(bad.stderr, /^invalid argument "x" for "-t, --timeout" flag: strconv\.ParseInt: parsing "x": invalid syntax$/m);
    const help = berth(['stop', '--help']).stdout;
    assert.match(help, /-t, --timeout int/);
    assert.doesNotMatch(help, /--time /);
    const name = `${tag}-stop`;
    const r = berth(['run', '-d', '--network', 'none', '--name', name, '--rootfs', rootfs, 'sleep', '300']);
    ok(r, 'run -d');
    ids.add(r.stdout.trim());
    const old = berth(['stop', '--time', '1', name]);
    ok(old, 'stop --time');
    assert.equal(old.stderr, 'Flag --time has been deprecated, use --timeout instead\n');
    assert.equal(old.stdout, `${name}\n`);
    ok(berth(['restart', '--timeout', '1', name]), 'restart --timeout');
    ok(berth(['rm', '-f', name]), 'rm -f');
  });

  test("an image the registry does not have: exit 125, docker's lines in docker's order", { skip: haveRegistry() ? false : 'docker-registry is not installed' }, async () => {
    let reg: TestRegistry | undefined;
    try {
      reg = await startRegistry();
      const ref = `${reg.host}/${tag}/missing:1`;
      const r = berth(['run', '--rm', '--name', `${tag}-img`, ref, 'true']);
      assert.equal(r.status, 125, r.stderr);
      assert.match(r.stderr, new RegExp(`^Unable to find image '${ref.replace(/[.]/g, '\\.')}' locally$`, 'm'));
      // docker says "Pulling from" once it has the manifest: never for a name the registry lacks
      assert.doesNotMatch(r.stderr, /Pulling from/);
      assert.match(r.stderr, /not found/);
      assert.equal(berth(['ps', '-aq']).stdout, '');
    } finally {
      await reg?.stop();
    }
  });
});
