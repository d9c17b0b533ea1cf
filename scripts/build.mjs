// Build step run by `npm ci` (prepare): compile the TypeScript and the C shim.
// The shim needs only the machine's C compiler (cc) and libc headers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

mkdirSync(join(root, 'dist'), { recursive: true });
const cc = process.env.CC || 'cc';
const cflags = ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-D_GNU_SOURCE', '-std=gnu11'];
// One program, berth-shim: the launcher, with the monitor, init, netlink, storage and device
// helpers as sub-commands (native/berth-shim.c includes their files). Linked statically: the
// monitor stays resident beside every container (no relocated libc data per process, ~40 KiB
// less each), the same binary is the tiny init of --init inside any rootfs, and exec skips the
// dynamic loader.
const shimOut = join(root, 'dist', 'berth-shim');
// Linked to a temporary name, then renamed over the old one: a build running while tests or
// containers exec the shim must never let them see a half-written file (EACCES/ETXTBSY).
const shimTmp = `${shimOut}.tmp-${process.pid}`;
try {
  run(cc, [...cflags, '-static', '-no-pie', '-o', shimTmp, join(root, 'native', 'berth-shim.c')]);
} catch {
  console.error('berth-shim: static link failed (no libc.a? install libc6-dev); linking dynamically');
  run(cc, [...cflags, '-o', shimTmp, join(root, 'native', 'berth-shim.c')]);
}
renameSync(shimTmp, shimOut);
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);

// The CLI entry point is bundled into one CommonJS file: loading ~60 small ESM modules (or ESM
// chunks through serial dynamic imports) cost 30-60 ms per `berth-oci run` here; one CJS file
// parses lazily and loads in a few ms. The bundle sits two levels below dist/, like
// dist/src/runtime/, so both find dist/berth-shim the same way.
const { build } = await import('esbuild');
const { BANNER } = await import('./bundle-banner.mjs');
await build({
  entryPoints: [join(root, 'src/cli/oci/main.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(root, 'dist/bundle/cjs/berth-oci.cjs'),
  define: { 'import.meta.url': '__berthModuleUrl' },
  // import() becomes require(): bin/load-bundle.cjs runs the bundle through vm.Script (code cache)
  supported: { 'dynamic-import': false },
  banner: { js: BANNER }, // import.meta.url; heavy built-ins load on first use
  logLevel: 'warning',
});
// `berth` (the engine's CLI) the same way, better-sqlite3's JavaScript included: only its
// native .node file is loaded from node_modules at run time (src/engine/store/db.ts).
await build({
  entryPoints: [join(root, 'src/cli/berth/main.ts')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(root, 'dist/bundle/cjs/berth.cjs'),
  define: { 'import.meta.url': '__berthModuleUrl' },
  // import() becomes require(): bin/load-bundle.cjs runs the bundle through vm.Script (code cache)
  supported: { 'dynamic-import': false },
  banner: { js: BANNER }, // import.meta.url; heavy built-ins load on first use
  logLevel: 'warning',
});
// Code caches of the previous bundles (bin/load-bundle.cjs) are stale now.
for (const f of readdirSync(join(root, 'dist/bundle/cjs'))) if (f.endsWith('.v8cache')) rmSync(join(root, 'dist/bundle/cjs', f), { force: true });
// The seccomp syscall tables are required lazily by relative path; give the bundle a copy.
mkdirSync(join(root, 'dist/bundle/cjs/tables'), { recursive: true });
for (const f of readdirSync(join(root, 'dist/src/seccomp/tables'))) {
  if (f.endsWith('.cjs')) copyFileSync(join(root, 'dist/src/seccomp/tables', f), join(root, 'dist/bundle/cjs/tables', f));
}
