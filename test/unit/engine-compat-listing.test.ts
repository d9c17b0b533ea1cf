// docker's Go templates as `--format` and `inspect -f` take them (go-template.ts), and the pure
// parts of the listing verbs: ps, events and volume filters, docker's tabwriter widths.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { formatRows, tabulate, template } from '../../src/cli/berth/format.js';
import { sprintf } from '../../src/cli/berth/go-template.js';
import { eventsFilter } from '../../src/cli/berth/events-filter.js';
import { checkPsFilters, psFilter, type PsFilterDeps } from '../../src/engine/ps-filters.js';
import { checkVolumeFilters } from '../../src/engine/volume-filters.js';
import type { ContainerRecord } from '../../src/engine/types.js';

const v = {
  Id: 'abcdef123456',
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0 },
  Config: { Labels: { b: '2', a: '1' }, Env: ['A=1', 'B=2'], Cmd: ['sh', '-c'] },
  Mounts: [{ Name: 'v1', Destination: '/d' }, { Name: '', Destination: '/e' }],
  Label: (k: string) => ({ app: 'x' } as Record<string, string>)[k] ?? '',
};

test('templates: variables and range with key and value', () => {
  assert.equal(template('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}')(v), 'a=1;b=2;');
  assert.equal(template('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}')(v), '0:A=1 1:B=2 ');
  assert.equal(template('{{range $m := .Mounts}}{{$m.Destination}}{{end}}')(v), '/d/e');
  assert.equal(template('{{$n := .Name}}{{range .Mounts}}{{$n}}{{.Destination}} {{end}}')(v), '/web/d /web/e ');
  assert.equal(template('{{range .Mounts}}{{$.Id}} {{end}}')(v), 'abcdef123456 abcdef123456 ');
  assert.throws(() => template('{{$nope}}')(v), /undefined variable: \$nope/);
});

test('templates: pipes without spaces, parentheses, printf widths and precision', () => {
  assert.equal(template('{{.Id|printf "%.5s"}}')(v), 'abcde');
  assert.equal(template('{{.Name | printf "%-8s|"}}')(v), '/web    |');
  assert.equal(template('{{printf "%5d|%05d|%q" 42 7 .Name}}')(v), '   42|00007|"/web"');
  assert.equal(template('{{(index .Mounts 0).Destination}}')(v), '/d');
  assert.equal(template('{{len (index .Config.Env 1)}}')(v), '3');
  assert.equal(sprintf('%s %s', ['a']), 'a %!s(MISSING)');
});

test('templates: comparisons, with, else if, comments, Go and docker functions', () => {
  assert.equal(template('{{if eq .State.Status "running"}}up{{else if eq .State.Status "exited"}}down{{else}}other{{end}}')(v), 'up');
  assert.equal(template('{{if ne .State.ExitCode 0}}bad{{else}}ok{{end}}')(v), 'ok');
  assert.equal(template('{{if and .State.Running (gt (len .Mounts) 1)}}many{{end}}')(v), 'many');
  assert.equal(template('{{with .Config}}{{index .Labels "a"}}{{end}}')(v), '1');
  assert.equal(template('{{with .Config.Labels.zz}}x{{else}}none{{end}}')({ Config: { Labels: { zz: '' } } }), 'none');
  assert.equal(template('{{/* a comment */}}{{.Name}}')(v), '/web');
  assert.equal(template('{{index .Config.Labels "missing"}}|')(v), '|'); // a map's zero value, as docker's typed Labels
  assert.equal(template('{{.Label "app"}}')(v), 'x');
  assert.equal(template('{{join .Config.Cmd ","}} {{pad "x" 1 2}}| {{truncate .Id 3}} {{title "ab cd"}}')(v), 'sh,-c  x  | abc Ab Cd');
  assert.equal(template('{{range .Mounts}}{{if .Name}}{{.Name}}{{else}}anon{{end}} {{end}}')(v), 'v1 anon ');
  assert.equal(template('{{- .Name -}}  \n')(v), '/web');
});

test('templates: errors name the field as Go does', () => {
  assert.throws(() => template("{{.State.Health.Status}}", { rawMap: true })(v), /map has no entry for key "Health"/);
  assert.throws(() => template("{{.Nope}}")(v), /can.t evaluate field Nope/);
  assert.throws(() => template('{{nofunc .Name}}'), /function "nofunc" not defined/);
  assert.throws(() => template('{{if .Name}}x'), /unexpected EOF/);
  assert.throws(() => template('{{end}}'), /unexpected \{\{end\}\}/);
});

test('table formats: a header for a method with arguments and for a piped field', () => {
  const rows = [{ Names: 'web', Label: (k: string) => (k === 'app' ? 'x' : '') }];
  assert.equal(formatRows(rows, 'table {{.Names | upper}}\t{{.Label "app"}}', { Names: 'NAMES', Label: 'LABEL' }), 'NAMES     LABEL\nWEB       x\n');
});

test('--format json: one object a line, keys sorted as docker\'s Go map, methods left out', () => {
  assert.equal(formatRows([{ Names: 'web', ID: 'abc', Label: () => '' }], 'json', {}), '{"ID":"abc","Names":"web"}\n');
});

test('tabulate: docker top uses tabwriter minwidth 20, padding 3', () => {
  assert.equal(tabulate(['PID\tCMD', '1\tsleep 1000'], 20), 'PID                 CMD\n1                   sleep 1000\n');
  assert.equal(tabulate(['a\tb']), 'a         b\n');
});

test('ps filters: docker keys and values checked, before/since exclusive, name against "/name"', () => {
  const rec = (id: string, name: string, extra: Partial<ContainerRecord> = {}) =>
    ({ id, name, image: 'busybox:latest', state: 'exited', exitCode: 0, config: { Labels: {} }, hostConfig: { Mounts: [], NetworkMode: 'none' }, spec: {}, ...extra }) as unknown as ContainerRecord;
  const recs = [rec('c'.repeat(64), 'newest'), rec('b'.repeat(64), 'middle', { hostConfig: { Mounts: [{ Type: 'bind', Source: '/src', Target: '/dst' }], NetworkMode: 'none' } } as Partial<ContainerRecord>), rec('a'.repeat(64), 'oldest')];
  const deps: PsFilterDeps = {
    resolve: (ref) => recs.find((r) => r.name === ref || r.id.startsWith(ref)) ?? (() => { throw new Error(`No such container: ${ref}`); })(),
    imageId: () => undefined, imageOf: () => undefined, imageName: (r) => (r.includes(':') ? r : `${r}:latest`),
    volumes: () => [], networks: (c) => [{ name: c.hostConfig.NetworkMode, id: '' }], health: () => 'none',
  };
  const names = (f: Record<string, string[]>) => recs.filter(psFilter(f, recs, deps)).map((r) => r.name);
  assert.deepEqual(names({ before: ['newest'] }), ['middle', 'oldest']);
  assert.deepEqual(names({ since: ['oldest'] }), ['newest', 'middle']);
  assert.deepEqual(names({ name: ['^/mid'] }), ['middle']);
  assert.deepEqual(names({ name: ['^old'] }), ['oldest']);
  assert.deepEqual(names({ volume: ['/src'] }), ['middle']);
  assert.deepEqual(names({ volume: ['/dst'] }), ['middle']);
  assert.deepEqual(names({ ancestor: ['busybox'] }), ['newest', 'middle', 'oldest']);
  assert.deepEqual(names({ network: ['bridge'] }), []);
  assert.throws(() => checkPsFilters({ nope: ['1'] }), /invalid filter 'nope'/);
  assert.throws(() => checkPsFilters({ status: ['up'] }), /invalid filter 'status=up'/);
  assert.throws(() => checkPsFilters({ name: ['('] }), /invalid filter 'name=\('/);
  assert.doesNotThrow(() => checkPsFilters({ publish: ['8000-8080/tcp'], expose: ['80'], 'is-task': ['false'] }));
});

test('events filters: keys checked, labels and-ed, image with or without its tag, prefixes of ids and names', () => {
  const ev = { type: 'container', action: 'exec_start: sh', actorId: 'abcdef0123', attributes: { name: 'web', image: 'busybox:latest', app: 'x', tier: 'db' } };
  assert.equal(eventsFilter({ event: ['exec_start'] })(ev), true);
  assert.equal(eventsFilter({ image: ['busybox'] })(ev), true);
  assert.equal(eventsFilter({ image: ['busybox:1'] })(ev), false);
  assert.equal(eventsFilter({ label: ['app=x', 'tier'] })(ev), true);
  assert.equal(eventsFilter({ label: ['app=x', 'tier=web'] })(ev), false);
  assert.equal(eventsFilter({ container: ['abc'] })(ev), true);
  assert.equal(eventsFilter({ container: ['we'] })(ev), true);
  assert.equal(eventsFilter({ type: ['volume'] })(ev), false);
  assert.throws(() => eventsFilter({ bogus: ['1'] }), /invalid filter 'bogus'/);
});

test('system df and volume filters: docker keys', () => {
  assert.throws(() => checkVolumeFilters({ nope: ['1'] }), /invalid filter 'nope'/);
  assert.throws(() => checkVolumeFilters({ dangling: ['maybe'] }), /invalid filter 'dangling=maybe'/);
  assert.doesNotThrow(() => checkVolumeFilters({ dangling: ['true'], driver: ['local'], label: ['a'], name: ['x'] }));
});
