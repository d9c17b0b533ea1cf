// The CLIs' start-up machinery: the bundle loader's V8 code cache (bin/load-bundle.cjs), the
// bundle banner's lazy built-ins (scripts/bundle-banner.mjs), node started without
// NODE_EXTRA_CA_CERTS by the bin scripts, and the registry client's deferred extra CAs.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deferredExtraCa } from '../../src/image/registry/extra-ca.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { loadBundle } = createRequire(import.meta.url)(join(REPO, 'bin', 'load-bundle.cjs')) as { loadBundle: (f: string) => Record<string, unknown> };
const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache')).sort();

// each load in a new node, as each command is (V8 keeps compiled scripts within a process)
const loadFresh = (file: string) => {
  const r = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(join(REPO, 'bin', 'load-bundle.cjs'))}).loadBundle(process.argv[1]); process.stdout.write(JSON.stringify([m.answer, m.base, m.self()]))`, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as [number, string, number];
};

test('loadBundle runs a bundle through a code cache named for its size and mtime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  try {
    const file = join(dir, 'b.cjs');
    writeFileSync(file, "const path = require('node:path');\nexports.answer = 42;\nexports.base = path.basename(__filename);\nexports.self = () => module.exports.answer;\n");
    assert.deepEqual(loadFresh(file), [42, 'b.cjs', 42]);
    assert.equal(loadBundle(file).answer, 42); // in this process too
    const st = statSync(file);
    const name = `.b.cjs.${st.size}-${Math.trunc(st.mtimeMs)}.v8cache`;
    assert.deepEqual(caches(dir), [name]);
    // a valid cache is used as it is, not written again
    const before = statSync(join(dir, name)).mtimeMs;
    assert.deepEqual(loadFresh(file), [42, 'b.cjs', 42]);
    assert.equal(statSync(join(dir, name)).mtimeMs, before);
    // one V8 rejects (garbage, as from another node) is replaced, and the bundle still runs
    writeFileSync(join(dir, name), Buffer.from('not a code cache'));
    assert.deepEqual(loadFresh(file), [42, 'b.cjs', 42]);
    assert.notEqual(readFileSync(join(dir, name)).toString('latin1'), 'not a code cache');
    // a rebuilt bundle of the same length never meets the old cache: a new name, the old removed
    writeFileSync(file, readFileSync(file, 'utf8').replace('42', '43'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(loadFresh(file), [43, 'b.cjs', 43]);
    const st2 = statSync(file);
    assert.equal(st2.size, st.size);
    assert.deepEqual(caches(dir), [`.b.cjs.${st2.size}-${Math.trunc(st2.mtimeMs)}.v8cache`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a warm code cache is written once, after the command, with the functions it compiled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  // a new node per load, as bin/berth: load, call the "command" (hot), then maybe saveWarmCaches
  const run = (file: string, save: boolean | 2) => {
    const lb = JSON.stringify(join(REPO, 'bin', 'load-bundle.cjs'));
    const r = spawnSync(process.execPath, ['-e', `const l = require(${lb}); const m = l.loadBundle(process.argv[1]); const v = m.hot(3); ${save ? `l.saveWarmCaches(${save === 2 ? 2 : 1});` : ''} process.stdout.write(String(v))`, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout);
  };
  try {
    const file = join(dir, 'b.cjs');
    // functions only called by the command, never at the top level: lazily compiled
    const body = Array.from({ length: 40 }, (_, i) => `function f${i}(x) { let s = 0; for (let j = 0; j < x; j++) s += j * ${i} + String(j).length; return s; }`).join('\n');
    writeFileSync(file, `${body}\nexports.hot = (x) => ${Array.from({ length: 40 }, (_, i) => `f${i}(x)`).join(' + ')};\n`);
    const st = statSync(file);
    const stem = `.b.cjs.${st.size}-${Math.trunc(st.mtimeMs)}`;
    const want = run(file, false);
    assert.deepEqual(caches(dir), [`${stem}.v8cache`]); // no hot command: the cold cache only
    const cold = statSync(join(dir, `${stem}.v8cache`)).size;
    assert.equal(run(file, true), want);
    assert.deepEqual(caches(dir), [`${stem}.warm.v8cache`]); // it replaces the cold one
    const warm = statSync(join(dir, `${stem}.warm.v8cache`));
    assert.ok(warm.size > cold, `the warm cache (${warm.size} B) holds the command's functions, the cold one (${cold} B) not`);
    // used as it is and never rewritten, whatever later commands compile
    assert.equal(run(file, true), want);
    assert.equal(run(file, false), want);
    assert.equal(statSync(join(dir, `${stem}.warm.v8cache`)).mtimeMs, warm.mtimeMs);
    // one V8 rejects is dropped for a cold one, and the next hot command writes it again
    writeFileSync(join(dir, `${stem}.warm.v8cache`), Buffer.from('not a code cache'));
    assert.equal(run(file, false), want);
    assert.deepEqual(caches(dir), [`${stem}.v8cache`]);
    assert.equal(run(file, true), want);
    assert.deepEqual(caches(dir), [`${stem}.warm.v8cache`]);
    assert.ok(statSync(join(dir, `${stem}.warm.v8cache`)).size > cold);
    // a run that set up a network replaces a level-1 cache once (level 2), which then stays
    assert.equal(run(file, 2), want);
    assert.deepEqual(caches(dir), [`${stem}.warm-net.v8cache`]);
    const net = statSync(join(dir, `${stem}.warm-net.v8cache`));
    assert.equal(run(file, true), want);
    assert.equal(run(file, 2), want);
    assert.deepEqual(caches(dir), [`${stem}.warm-net.v8cache`]);
    assert.equal(statSync(join(dir, `${stem}.warm-net.v8cache`)).mtimeMs, net.mtimeMs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only a run that succeeded without pulling asks for the warm cache', async () => {
  const h = await import('../../src/cli/berth/hot-command.js');
  for (const other of ['image ls', 'pull', 'ps', 'inspect', 'build']) {
    h.noteCommand(other);
    assert.equal(h.warmCacheWanted(0), 0, other);
  }
  h.noteCommand('run');
  assert.equal(h.warmCacheWanted(125), 0);
  assert.equal(h.warmCacheWanted(1), 0);
  h.noteNetwork('none');
  assert.equal(h.warmCacheWanted(0), 1);
  h.noteNetwork('container:web');
  assert.equal(h.warmCacheWanted(0), 1);
  h.noteNetwork(undefined); // the default bridge
  assert.equal(h.warmCacheWanted(0), 2);
  h.noteNetwork('appnet');
  assert.equal(h.warmCacheWanted(0), 2);
  h.notePull();
  assert.equal(h.warmCacheWanted(0), 0);
});

test('the bundle banner loads heavy built-ins on first property read, others at once', async () => {
  const { BANNER, LAZY_BUILTINS } = (await import(pathToFileURL(join(REPO, 'scripts', 'bundle-banner.mjs')).href)) as { BANNER: string; LAZY_BUILTINS: string[] };
  assert.ok(LAZY_BUILTINS.includes('node:zlib') && !LAZY_BUILTINS.includes('node:fs'));
  const real = createRequire(import.meta.url);
  const loaded: string[] = [];
  const tracking = Object.assign((id: string) => {
    loaded.push(id);
    return real(id);
  }, { resolve: real.resolve });
  // the banner runs as the first lines of a CommonJS module: its `require` is a parameter
  const req = new Function('require', '__filename', `${BANNER}\nreturn require;`)(tracking, join(REPO, 'x.cjs')) as NodeJS.Require;
  assert.equal(typeof req.resolve, 'function');
  loaded.length = 0;
  const zlib = req('node:zlib') as typeof import('node:zlib');
  const fs = req('node:fs') as typeof import('node:fs');
  assert.deepEqual(loaded, ['node:fs']);
  assert.equal(typeof fs.readFileSync, 'function');
  const z = zlib.gzipSync(Buffer.from('hello'));
  assert.deepEqual(loaded, ['node:fs', 'node:zlib']);
  assert.equal(zlib.gunzipSync(z).toString(), 'hello');
  assert.ok('gzipSync' in zlib);
  assert.ok(Object.keys(zlib).includes('createGzip'));
  assert.equal(loaded.filter((x) => x === 'node:zlib').length, 1);
});

test('bin/berth and bin/berth-oci start node without NODE_EXTRA_CA_CERTS', () => {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/berth-test-ca.pem' };
  // control: node itself reads the variable at start-up (and warns about this file)
  const control = spawnSync(process.execPath, ['-e', '0'], { env, encoding: 'utf8' });
  assert.match(control.stderr, /extra certs/i);
  for (const [bin, args] of [['berth', ['version']], ['berth-oci', ['--version']]] as const) {
    const r = spawnSync(join(REPO, 'bin', bin), [...args], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `${bin}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /extra certs/i, bin);
    assert.match(r.stdout, /0\.\d+\.\d+/);
  }
});

test('the registry client adds BERTH_EXTRA_CA_CERTS (passed on by bin/berth) when it connects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ca-'));
  try {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    process.env.BERTH_EXTRA_CA_CERTS = pem;
    const warnings: string[] = [];
    const got = deferredExtraCa((m) => warnings.push(m));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.toString(), readFileSync(pem, 'utf8'));
    assert.deepEqual(warnings, []);
  } finally {
    delete process.env.BERTH_EXTRA_CA_CERTS;
    rmSync(dir, { recursive: true, force: true });
  }
});
