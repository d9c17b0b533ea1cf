// The listing verbs against docker's behaviour (root, real containers): ps filters docker's
// daemon knows (before/since exclusive, volume, ancestor, network, refused keys and values),
// ps -s sizes, Go templates with variables in inspect -f, inspect's template errors and -f json,
// top's table, system df's percentages, events' format errors.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';

const t = testBerth('listing');

after(() => t.cleanup());

const names = (args: string[]) => {
  const r = t.run(['ps', '-a', ...args, '--format', '{{.Names}}']);
  ok(r, `ps ${args.join(' ')}`);
  return r.stdout.split('\n').filter(Boolean).sort();
};

describe('berth listing verbs, as docker', () => {
  const a = t.uniq('la');
  const b = t.uniq('lb');
  const c = t.uniq('lc');
  const vol = t.uniq('lvol');

  test('ps --filter: before/since exclude the container named, volume, ancestor, network', () => {
    ok(t.run(['run', '-d', '--name', a, '--network', 'none', '--label', 'k=v', '--label', 'app=x', 'host', 'sleep', '300']));
    assert.equal(t.run(['run', '--name', b, '--network', 'none', 'host', 'sh', '-c', 'exit 3']).status, 3);
    ok(t.run(['create', '--name', c, '--network', 'none', '-v', `${vol}:/data`, 'host', 'true']));
    assert.deepEqual(names(['--filter', `before=${c}`]), [a, b].sort());
    assert.deepEqual(names(['--filter', `since=${a}`]), [b, c].sort());
    assert.deepEqual(names(['--filter', `since=${a}`, '--filter', `before=${c}`]), [b]);
    assert.deepEqual(names(['--filter', `volume=${vol}`]), [c]);
    assert.deepEqual(names(['--filter', 'volume=/data']), [c]);
    assert.deepEqual(names(['--filter', 'ancestor=host', '--filter', `name=${a}`]), [a]);
    assert.deepEqual(names(['--filter', `ancestor=${t.uniq('nosuchimage')}`]), []);
    assert.deepEqual(names(['--filter', 'network=none', '--filter', `name=^/${b}$`]), [b]);
    assert.deepEqual(names(['--filter', 'network=bridge', '--filter', `name=${b}`]), []);
    assert.deepEqual(names(['--filter', 'exited=3', '--filter', `name=${b}`]), [b]);
  });

  test('ps --filter: unknown keys and bad values are refused as docker refuses them', () => {
    for (const [f, msg] of [['bogus=1', "invalid filter 'bogus'"], ['status=nope', "invalid filter 'status=nope'"], ['health=sick', "invalid filter 'health=sick'"], ['exited=x', "invalid filter 'exited=x'"]] as const) {
      const r = t.run(['ps', '-a', '--filter', f]);
      assert.equal(r.status, 1, f);
      assert.match(r.stderr, new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(r.stdout, '');
    }
    const r = t.run(['ps', '-a', '--filter', `before=${t.uniq('gone')}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /No such container/);
  });

  test('ps -s: a SIZE column, "RW (virtual RW+IMAGE)"; .Size in a format asks for it', () => {
    const r = t.run(['ps', '-a', '-s', '--filter', `name=${a}`]);
    ok(r);
    assert.match(r.stdout.split('\n')[0]!, /NAMES\s+SIZE$/);
    assert.match(r.stdout.split('\n')[1]!, /\s\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)$/);
    const f = t.run(['ps', '-a', '--filter', `name=${a}`, '--format', '{{.Size}}']);
    ok(f);
    assert.match(f.stdout, /^\d+(\.\d+)?[kMG]?B \(virtual /);
    // inspect -s: docker's SizeRw and SizeRootFs, in bytes; without -s, neither
    const i = t.run(['inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', a]);
    ok(i);
    const [rw, rootFs] = i.stdout.trim().split(' ').map(Number);
    assert.ok(rw! >= 0 && rootFs! >= rw!, i.stdout);
    assert.equal(t.run(['inspect', '-f', '{{json .}}', a]).stdout.includes('"SizeRw"'), false);
  });

  test('volume ls: docker\'s fields, {{.Label "k"}}, N/A for usage', () => {
    const v = t.uniq('lvl');
    ok(t.run(['volume', 'create', '--label', 'tier=db', v]));
    const r = t.run(['volume', 'ls', '--filter', `name=${v}`, '--format', '{{.Name}} {{.Label "tier"}} {{.Size}} {{.Links}}']);
    ok(r);
    assert.equal(r.stdout, `${v} db N/A N/A\n`);
    ok(t.run(['volume', 'rm', v]));
  });

  test('templates: variables, range $k, $v, pipes without spaces, else if, printf', () => {
    const r = t.run(['inspect', '-f', '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}|{{.Id|printf "%.7s"}}|{{if eq .State.Status "exited"}}E{{else if .State.Running}}R{{end}}', a]);
    ok(r);
    assert.equal(r.stdout, `app=x;k=v;|${t.run(['inspect', '-f', '{{.Id}}', a]).stdout.slice(0, 7)}|R\n`);
    const p = t.run(['ps', '-a', '--filter', `name=${a}`, '--format', '{{$l := .Label "app"}}{{$l}} {{.Names | printf "%s!"}}']);
    ok(p);
    assert.equal(p.stdout, `x ${a}!\n`);
  });

  test('inspect: a template failing on one object reports it after the others (exit 1); a bad template exits 64; -f json', () => {
    const r = t.run(['inspect', '-f', '{{.Name}} {{.State.Health.Status}}', a]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '\n');
    assert.match(r.stderr, /^template parsing error: .*map has no entry for key "Health"/);
    const missing = t.uniq('nosuch');
    const m = t.run(['inspect', '-f', '{{.Name}}', a, missing, b]);
    assert.equal(m.status, 1);
    assert.equal(m.stdout, `/${a}\n/${b}\n`);
    assert.equal(m.stderr, `Error: No such object: ${missing}\n`);
    const bad = t.run(['inspect', '-f', '{{.Name', a, missing]);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /^template parsing error: [^\n]*\n$/); // refused before any lookup: no "No such object"
    assert.equal(bad.stdout, '');
    const j = t.run(['inspect', '-f', 'json', a, b]);
    ok(j);
    assert.equal(j.stdout.split('\n').length, 2); // compact: one line
    assert.deepEqual((JSON.parse(j.stdout) as { Name: string }[]).map((x) => x.Name), [`/${a}`, `/${b}`]);
    const ps = t.run(['ps', '--format', '{{.Nope}}']);
    assert.equal(ps.status, 1); // docker's formatter: a plain error
    assert.match(ps.stderr, /^template parsing error: .*Nope/);
  });

  test('inspect templates see docker\'s Go struct: a bind mount\'s .Name, a nil .State.Health in {{if}}; ps .Mounts names anonymous volumes', () => {
    const m = t.uniq('lm');
    ok(t.run(['create', '--name', m, '--network', 'none', '-v', '/anon', '-v', `${t.dir}:/host-side-directory`, 'host', 'true']));
    const r = t.run(['inspect', '-f', '{{range .Mounts}}{{.Type}}:{{.Name}};{{end}}|{{if .State.Health}}h{{else}}none{{end}}|{{.Config.ExposedPorts}}', m]);
    ok(r);
    const anon = t.run(['inspect', '-f', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{end}}{{end}}', m]).stdout.trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    assert.equal(r.stdout, `volume:${anon};bind:;|none|map[]\n`);
    assert.equal(t.run(['inspect', '--format', '{{json .Mounts}}', m]).stdout.includes('"Name":""'), false); // the JSON stays docker's (omitempty)
    const p = t.run(['ps', '-a', '--filter', `name=${m}`, '--format', '{{.Mounts}}']);
    ok(p);
    assert.equal(p.stdout, `${anon.slice(0, 14)}…,${[...t.dir].length > 15 ? [...t.dir].slice(0, 14).join('') + '…' : t.dir}\n`);
    const full = t.run(['ps', '-a', '--no-trunc', '--filter', `name=${m}`, '--format', '{{.Mounts}}']);
    assert.equal(full.stdout, `${anon},${t.dir}\n`);
    ok(t.run(['rm', '-v', m]));
  });

  test('top: docker tabwriter columns (min width 20)', () => {
    const r = t.run(['top', a]);
    ok(r);
    const [head, row] = r.stdout.split('\n');
    assert.match(head!, /^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD$/);
    assert.match(row!, /^root {16}\d+ +\d+ .* sleep 300$/);
  });

  test('system df: reclaimable percentages for containers (docker rounds down)', () => {
    const r = t.run(['system', 'df', '--format', '{{.Type}}|{{.Size}}|{{.Reclaimable}}']);
    ok(r);
    const row = r.stdout.split('\n').find((l) => l.startsWith('Containers|'))!;
    const [, size, recl] = row.split('|');
    if (size !== '0B') assert.match(recl!, /^\S+ \(\d+%\)$/);
  });

  test('inspect .Image is the image id (the name is .Config.Image); ps --filter ancestor= by name, tag or id', () => {
    const rootfs = join(t.dir, 'bb');
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(t.dir, 'bb.tar'), '.']);
    const tag = t.uniq('lbb');
    ok(t.run(['import', join(t.dir, 'bb.tar'), `${tag}:1`]));
    const imageId = t.run(['image', 'inspect', '-f', '{{.Id}}', `${tag}:1`]).stdout.trim();
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
    const d = t.uniq('ld');
    ok(t.run(['create', '--name', d, '--network', 'none', `${tag}:1`, 'true']));
    const r = t.run(['inspect', '-f', '{{.Image}} {{.Config.Image}}', d]);
    ok(r);
    assert.equal(r.stdout, `${imageId} ${tag}:1\n`);
    for (const ref of [`${tag}:1`, imageId.slice(7, 19), imageId]) assert.deepEqual(names(['--filter', `ancestor=${ref}`]), [d], ref);
    assert.deepEqual(names(['--filter', `ancestor=${tag}:2`]), []);
    // inspect NAME finds an image or a network too (docker's order: container, image, network, volume)
    const gi = t.run(['inspect', '-f', '{{.Id}}', `${tag}:1`, 'bridge']);
    assert.equal(gi.status, 0, gi.stderr);
    assert.equal(gi.stdout.split('\n')[0], imageId);
    assert.equal(t.run(['inspect', '--type', 'network', '-f', '{{.Name}}', 'bridge']).stdout, 'bridge\n');
    const ti = t.run(['inspect', '--type', 'container', `${tag}:1`]);
    assert.equal(ti.status, 1);
    assert.equal(ti.stderr, `Error: No such object: ${tag}:1\n`);
    const bt = t.run(['inspect', '--type', 'bogus', d]);
    assert.equal(bt.status, 1);
    assert.equal(bt.stderr, 'Error: "bogus" is not a valid value for --type\n');
    ok(t.run(['rm', d]));
    ok(t.run(['rmi', `${tag}:1`]));
  });

  test('events: a format that does not parse exits 64 with docker\'s words', () => {
    const r = t.run(['events', '--since', '1m', '--until', '0s', '--format', '{{.ID']);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /^Error parsing format: /);
    const ok2 = t.run(['events', '--since', '10m', '--until', '0s', '--filter', `container=${b}`, '--filter', 'event=die', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode|printf "%s"}}']);
    ok(ok2);
    assert.equal(ok2.stdout, `${b} 3\n`);
    // container events carry the labels: --filter label= finds them (all label filters must hold)
    const lab = t.run(['events', '--since', '10m', '--until', '0s', '--filter', 'label=k=v', '--filter', 'label=app', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}']);
    ok(lab);
    assert.equal(lab.stdout, `${a}\n`);
    const img = t.run(['events', '--since', '10m', '--until', '0s', '--filter', 'image=host', '--filter', `container=${b}`, '--filter', 'event=die', '--format', '{{.Actor.Attributes.name}}']);
    ok(img);
    assert.equal(img.stdout, `${b}\n`);
    for (const args of [['events', '--since', '1m', '--until', '0s', '--filter', 'bogus=1'], ['volume', 'ls', '--filter', 'bogus=1']]) {
      const r2 = t.run(args);
      assert.equal(r2.status, 1, args.join(' '));
      assert.match(r2.stderr, /invalid filter 'bogus'/);
    }
    const vl = t.run(['volume', 'ls', '-q', '--filter', 'driver=local', '--filter', `name=${vol}`]);
    ok(vl);
    assert.equal(vl.stdout, `${vol}\n`);
  });
});
