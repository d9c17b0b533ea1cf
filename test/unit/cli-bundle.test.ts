// The CLI bundles' split (scripts/bundle-cli.mjs + bin/load-bundle.cjs): code behind an
// `await import` loads only when that line runs, every module runs once and is shared by the
// chunks that need it (classes stay one class), chunks that always load with a file travel
// inside it; and the real `berth` bundle: `version` reads one small file, every verb resolves
// and prints its help.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LOADER = join(REPO, 'bin', 'load-bundle.cjs');
const CJS = join(REPO, 'dist', 'bundle', 'cjs');

// runs `code` in a new node (each command is a new process) with the loader as `L`
const inNode = (code: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, ['-e', `const L = require(${JSON.stringify(LOADER)});\n${code}`, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

test('a split bundle loads lazy chunks on first use and shares modules between chunks', async () => {
  const { bundleCli } = (await import(pathToFileURL(join(REPO, 'scripts', 'bundle-cli.mjs')).href)) as {
    bundleCli: (entry: string, name: string, outdir: string) => Promise<string[]>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'berth-split-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(src);
    // shared.ts is needed at start and by the lazy chunk; big.ts only by the lazy chunk
    writeFileSync(join(src, 'shared.ts'), "(globalThis as any).sharedRuns = ((globalThis as any).sharedRuns ?? 0) + 1;\nexport class Thing {}\nexport const here = () => import.meta.url;\n");
    writeFileSync(join(src, 'big.ts'), "(globalThis as any).bigRuns = ((globalThis as any).bigRuns ?? 0) + 1;\nexport const big = 'x'.repeat(10);\n");
    writeFileSync(join(src, 'lazy.ts'), "import { Thing } from './shared.js';\nimport { big } from './big.js';\nexport const make = () => new Thing();\nexport const size = big.length;\n");
    writeFileSync(join(src, 'other.ts'), "import { Thing } from './shared.js';\nimport { big } from './big.js';\nexport const other = () => [new Thing(), big];\n");
    writeFileSync(
      join(src, 'main.ts'),
      "import { Thing, here } from './shared.js';\nexport const runs = () => [(globalThis as any).sharedRuns, (globalThis as any).bigRuns ?? 0];\nexport const lazy = async () => { const m = await import('./lazy.js'); return [m.make() instanceof Thing, m.size]; };\nexport const other = async () => (await import('./other.js')).other()[0] instanceof Thing;\nexport const url = here;\n",
    );
    const out = join(dir, 'out');
    mkdirSync(out);
    const names = await bundleCli(join(src, 'main.ts'), 'app', out);
    assert.ok(names.includes('app.cjs'));
    const entry = join(out, 'app.cjs');
    const got = JSON.parse(
      inNode(
        `const m = L.loadBundle(process.argv[1]);
const atStart = [m.runs(), L.loadedFiles().length];
m.lazy().then(async (lazy) => {
  const afterLazy = [m.runs(), L.loadedFiles().length];
  const other = await m.other();
  process.stdout.write(JSON.stringify({ atStart, lazy, afterLazy, other, after: m.runs(), url: m.url() }));
});`,
        entry,
      ),
    ) as { atStart: [number[], number]; lazy: [boolean, number]; afterLazy: [number[], number]; other: boolean; after: number[]; url: string };
    // at start: shared ran once (it travels inside app.cjs), big did not run, one file read
    assert.deepEqual(got.atStart, [[1, 0], 1]);
    // the lazy chunk: the same Thing class, big ran once, one more file read (big travels in it)
    assert.deepEqual(got.lazy, [true, 10]);
    assert.deepEqual(got.afterLazy, [[1, 1], 2]);
    // another lazy chunk needing big and shared: neither runs again
    assert.equal(got.other, true);
    assert.deepEqual(got.after, [1, 1]);
    // import.meta.url of a module is a file URL in the bundle's directory
    assert.equal(dirname(fileURLToPath(got.url)), out);
    // each file got its code cache; running again uses them and gives the same answers
    const caches = readdirSync(out).filter((f) => f.endsWith('.v8cache'));
    assert.ok(caches.some((f) => f.startsWith('.app.cjs.')), caches.join(' '));
    assert.deepEqual(JSON.parse(inNode('process.stdout.write(JSON.stringify(L.loadBundle(process.argv[1]).runs()))', entry)), [1, 0]);
    // without the loader (plain require) the chunk files are there to load
    const plain = spawnSync(process.execPath, ['-e', 'require(process.argv[1]).lazy().then((r) => process.stdout.write(JSON.stringify(r)))', entry], { encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), [true, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the banner's import.meta.url is pathToFileURL's, for plain and unusual file names", async () => {
  const { BANNER } = (await import(pathToFileURL(join(REPO, 'scripts', 'bundle-banner.mjs')).href)) as { BANNER: string };
  const req = createRequire(import.meta.url);
  for (const f of ['/work/dist/bundle/cjs/berth.verbs-AB12.cjs', '/tmp/a b/x%y#z?.cjs', '/tmp/dir with space/plain.cjs', '/x.cjs', '/tmp/a b/again.cjs']) {
    const url = new Function('require', '__filename', `${BANNER}\nreturn __berthModuleUrl;`)(req, f) as string;
    assert.equal(url, pathToFileURL(f).href, f);
  }
});

test('berth version reads one small file; other verbs load the verbs chunk', () => {
  const r = spawnSync(process.execPath, ['-e', `const L = require(${JSON.stringify(LOADER)}); L.loadBundle(process.argv[1]).main(['version', '--format', '{{.Client.Version}}']).then((code) => { process.stderr.write(JSON.stringify(L.loadedFiles())); process.exitCode = code; });`, join(CJS, 'berth.cjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^0\.\d+\.\d+\n$/);
  const files = JSON.parse(r.stderr) as string[];
  assert.deepEqual(files, [join(CJS, 'berth.cjs')]);
  // the file every command reads held the whole CLI (2 MB) before the split
  assert.ok(statSync(join(CJS, 'berth.cjs')).size < 200 * 1024, `berth.cjs is ${statSync(join(CJS, 'berth.cjs')).size} bytes`);
  const h = spawnSync(process.execPath, ['-e', `const L = require(${JSON.stringify(LOADER)}); L.loadBundle(process.argv[1]).main(['--help']).then((code) => { process.stderr.write(JSON.stringify(L.loadedFiles())); process.exitCode = code; });`, join(CJS, 'berth.cjs')], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  const loaded = (JSON.parse(h.stderr) as string[]).map((f) => f.slice(CJS.length + 1));
  assert.equal(loaded[0], 'berth.cjs');
  assert.match(loaded[1] ?? '', /^berth\.verbs-\w+\.cjs$/);
  assert.match(h.stdout, /Commands:\n {2}run +Create and run a new container/);
});

test("every verb resolves through bin/berth and prints its help with docker's usage line", async () => {
  const verbs = (await import(pathToFileURL(join(REPO, 'dist', 'src', 'cli', 'berth', 'verbs.js')).href)) as Record<string, Record<string, { usage: string; summary: string }>>;
  const groups: [string, Record<string, { usage: string; summary: string }>][] = [
    ['', verbs.COMMANDS!],
    ['image ', verbs.IMAGE_COMMANDS!],
    ['volume ', verbs.VOLUME_COMMANDS!],
    ['network ', verbs.NETWORK_COMMANDS!],
    ['system ', verbs.SYSTEM_COMMANDS!],
  ];
  let n = 0;
  for (const [group, table] of groups) {
    for (const [name, c] of Object.entries(table)) {
      if (name === 'cleanup') continue; // internal (the monitor's), not a user verb
      const r = spawnSync(join(REPO, 'bin', 'berth'), [...group.split(' ').filter(Boolean), name, '--help'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${group}${name}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`\nUsage:  berth ${c.usage}\n\n${c.summary}\n`), `${group}${name}: ${r.stdout}`);
      n++;
    }
  }
  assert.ok(n > 50, `${n} verbs`);
  // an unknown verb: docker's message and 125
  const bad = spawnSync(join(REPO, 'bin', 'berth'), ['no-such-verb'], { encoding: 'utf8' });
  assert.equal(bad.status, 125);
  assert.match(bad.stderr, /'no-such-verb' is not a berth command/);
});

test('bundles are ASCII (V8 keeps a file with one other character as a two-byte string) and mean what the sources mean', async () => {
  const { bundleCli } = (await import(pathToFileURL(join(REPO, 'scripts', 'bundle-cli.mjs')).href)) as {
    bundleCli: (entry: string, name: string, outdir: string) => Promise<string[]>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'berth-ascii-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(src);
    // esbuild escapes strings but not regular expressions; the lazy chunk gets the same treatment
    writeFileSync(join(src, 'units.ts'), "export const unit = (s: string) => /^(\\d+)(ns|µs|ms)$/.exec(s)?.[2] ?? null;\nexport const faces = (s: string) => /[😀-😂]/u.test(s);\nexport const label = 'µs ✓';\n");
    writeFileSync(join(src, 'main.ts'), "export const lazy = async () => { const m = await import('./units.js'); return [m.unit('5µs'), m.unit('5us'), m.faces('a😁'), m.faces('a'), m.label]; };\n");
    const out = join(dir, 'out');
    mkdirSync(out);
    const names = await bundleCli(join(src, 'main.ts'), 'app', out);
    for (const f of names) assert.ok(/^[\x00-\x7f]*$/.test(readFileSync(join(out, f), 'utf8')), `${f} has non-ASCII characters`);
    const got = JSON.parse(inNode('L.loadBundle(process.argv[1]).lazy().then((r) => process.stdout.write(JSON.stringify(r)))', join(out, 'app.cjs'))) as unknown[];
    assert.deepEqual(got, ['µs', null, true, false, 'µs ✓']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // the real bundles: what `berth --help` and berth-oci load
  const h = spawnSync(process.execPath, ['-e', `const L = require(${JSON.stringify(LOADER)}); L.loadBundle(process.argv[1]).main(['--help']).then((code) => { process.stderr.write(JSON.stringify(L.loadedFiles())); process.exitCode = code; });`, join(CJS, 'berth.cjs')], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  for (const f of [...(JSON.parse(h.stderr) as string[]), join(CJS, 'berth-oci.cjs')]) {
    const bad = /[^\x00-\x7f]/.exec(readFileSync(f, 'utf8'));
    assert.equal(bad, null, `${f}: ${JSON.stringify(bad?.input.slice(bad.index - 30, bad.index + 10))}`);
  }
});
