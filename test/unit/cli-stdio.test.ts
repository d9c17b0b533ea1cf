// The CLIs' output helpers (src/cli/stdio.ts): write(2) until something in the process uses
// process.stdout/stderr, then through those streams, in order; a reader of stdout that has gone
// (EPIPE) ends the process quietly (status 0); no stream module is loaded for a command that only prints.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STDIO = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'stdio.js')).href;

// node running `body` (an ES module with out/err imported)
const nodeArgs = (body: string) => ['--input-type=module', '-e', `import { out, err } from ${JSON.stringify(STDIO)};\nimport { writeSync } from 'node:fs';\n${body}`];

const MIXED = `out('1 '); err('e1 '); process.stdout.write('2 '); out('3 '); console.log('4'); err('e2 '); process.stderr.write('e3');`;

test('out/err write in order with process.stdout/stderr, to pipes and to a file', () => {
  const r = spawnSync(process.execPath, nodeArgs(MIXED), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1 2 3 4\n');
  assert.equal(r.stderr, 'e1 e2 e3');
  const dir = mkdtempSync(join(tmpdir(), 'berth-stdio-'));
  try {
    const f = spawnSync('sh', ['-c', '"$0" "$@" > "$OUT" 2> "$OUT.err"', process.execPath, ...nodeArgs(MIXED)], { encoding: 'utf8', env: { ...process.env, OUT: join(dir, 'out') } });
    assert.equal(f.status, 0, f.stderr);
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), '1 2 3 4\n');
    assert.equal(readFileSync(join(dir, 'out.err'), 'utf8'), 'e1 e2 e3');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('printing loads no stream module; big writes arrive whole', () => {
  // node's own ES module loader may have loaded `stream` already: what printing adds counts
  const body = `const before = new Set(process.moduleLoadList);\nout('x'.repeat(300000)); err('y');\nwriteSync(3, JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m) && /^NativeModule (stream|net|tty|internal\\/fs\\/sync_write_stream)$/.test(m))));`;
  const r = spawnSync(process.execPath, nodeArgs(body), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'x'.repeat(300000));
  assert.equal(r.stderr, 'y');
  assert.deepEqual(JSON.parse(r.output[3] as string), []);
});

// like docker's CLI (which dies of SIGPIPE), a follow loop must not go on writing into the void:
// the process ends, status 0 and no stack trace, through write(2) and through process.stdout
for (const [how, write] of [['write(2)', 'out'], ['process.stdout', 'process.stdout.write.bind(process.stdout)']]) {
  test(`a reader that has gone (EPIPE) ends the process quietly with status 0 (${how})`, async () => {
    const child = spawn(process.execPath, nodeArgs(`const w = ${write};\nawait new Promise((r) => setTimeout(r, 300));\nfor (let i = 0; i < 100; i++) { w('z'.repeat(65536)); await new Promise((r) => setImmediate(r)); }\nerr('not reached');`), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closes our end of the pipe: the child's writes get EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
}
