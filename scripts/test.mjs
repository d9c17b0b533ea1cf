// Runs the test suite: unit tests (pure logic) then integration tests (real containers, root).
// Usage: node scripts/test.mjs [unit|integration] [name-filter]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2];
const filter = process.argv[3];
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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
