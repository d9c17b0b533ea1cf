// Build step run by `npm ci` (prepare): compile the TypeScript and the C shim.
// The shim needs only the machine's C compiler (cc) and libc headers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

mkdirSync(join(root, 'dist'), { recursive: true });
const cc = process.env.CC || 'cc';
const cflags = ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-D_GNU_SOURCE', '-std=gnu11'];
for (const prog of ['berth-shim']) {
  const src = join(root, 'native', `${prog}.c`);
  if (!existsSync(src)) continue;
  run(cc, [...cflags, '-o', join(root, 'dist', prog), src]);
}
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
