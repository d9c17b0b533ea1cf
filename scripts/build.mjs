// Build step run by `npm ci` (prepare): compile the TypeScript and the C shim.
// The shim needs only the machine's C compiler (cc) and libc headers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

mkdirSync(join(root, 'dist'), { recursive: true });
const cc = process.env.CC || 'cc';
const cflags = ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-D_GNU_SOURCE', '-std=gnu11'];
// berth-monitor stays resident beside every container: linked statically (no relocated libc data
// per process, ~40 KiB less each), and usable inside any rootfs as the tiny init of --init.
const extra = { 'berth-monitor': ['-static', '-no-pie'] };
for (const prog of ['berth-shim', 'berth-monitor', 'berth-netlink']) {
  const src = join(root, 'native', `${prog}.c`);
  if (!existsSync(src)) continue;
  try {
    run(cc, [...cflags, ...(extra[prog] ?? []), '-o', join(root, 'dist', prog), src]);
  } catch (e) {
    if (!extra[prog]) throw e;
    console.error(`${prog}: static link failed (no libc.a?); linking dynamically`);
    run(cc, [...cflags, '-o', join(root, 'dist', prog), src]);
  }
}
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);

// The CLI entry point is bundled into one CommonJS file: loading ~60 small ESM modules (or ESM
// chunks through serial dynamic imports) cost 30-60 ms per `berth-oci run` here; one CJS file
// parses lazily and loads in a few ms. The bundle sits two levels below dist/, like
// dist/src/runtime/, so both find dist/berth-shim the same way.
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'src/cli/oci/main.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(root, 'dist/bundle/cjs/berth-oci.cjs'),
  define: { 'import.meta.url': '__berthModuleUrl' },
  banner: { js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// `berth` (the engine's CLI) the same way; better-sqlite3 is a native addon and stays outside,
// required from node_modules at run time.
await build({
  entryPoints: [join(root, 'src/cli/berth/main.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(root, 'dist/bundle/cjs/berth.cjs'),
  external: ['better-sqlite3'],
  define: { 'import.meta.url': '__berthModuleUrl' },
  banner: { js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// The seccomp syscall tables are required lazily by relative path; give the bundle a copy.
mkdirSync(join(root, 'dist/bundle/cjs/tables'), { recursive: true });
for (const f of readdirSync(join(root, 'dist/src/seccomp/tables'))) {
  if (f.endsWith('.cjs')) copyFileSync(join(root, 'dist/src/seccomp/tables', f), join(root, 'dist/bundle/cjs/tables', f));
}
