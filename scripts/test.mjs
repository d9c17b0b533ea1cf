// Runs the test suite: unit tests (pure logic) then integration tests (real containers, root).
// Files that measure enforcement (CPU shares of a core, I/O rates) run afterwards on their own,
// so the other files' load cannot skew them; so does one that simulates a boot host-wide. Prints one closing line: "N passed, N failed".
// Usage: node scripts/test.mjs [unit|integration] [name-filter]
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2];
const filter = process.argv[3];
// engine-network-gaps simulates a new boot in the host-wide network state (/run/berth/network
// boot-id), which makes the next network command of any berth reconcile the whole host: a test
// file starting containers beside it could see one of its starts released mid-way.
const ALONE = ['oci-resources.test.js', 'cgroups.test.js', 'engine-network-gaps.test.js'];

if (!existsSync(join(root, 'dist', 'berth-shim'))) {
  console.error('berth is not built: run "npm ci" (or "npm run build") first');
  process.exit(1);
}
const files = [];
for (const kind of ['unit', 'integration']) {
  if (which && which !== kind) continue;
  const dir = join(root, 'dist', 'test', kind);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.test.js') && (!filter || f.includes(filter))) files.push(join(dir, f));
  }
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
if (process.getuid?.() !== 0 && files.some((f) => f.includes('/integration/'))) {
  console.error('integration tests start real containers and must run as root');
  process.exit(1);
}

function run(list, concurrency) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...list], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4096);
    });
    child.on('exit', (code) => {
      const pass = Number(/^# pass (\d+)$/m.exec(tail)?.[1] ?? 0);
      const fail = Number(/^# fail (\d+)$/m.exec(tail)?.[1] ?? 0);
      resolve({ code: code ?? 1, pass, fail });
    });
  });
}

const alone = files.filter((f) => ALONE.some((a) => f.endsWith(`/integration/${a}`)));
const rest = files.filter((f) => !alone.includes(f));
const results = [];
if (rest.length) results.push(await run(rest, 2));
if (alone.length) results.push(await run(alone, 1));
const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
const code = results.some((r) => r.code !== 0) ? 1 : 0;
console.log(`\ntests: ${pass} passed, ${fail} failed`);
process.exit(code);
