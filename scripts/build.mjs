// Build step run by `npm ci` (prepare): compile the TypeScript and the C shim.
// The shim needs only the machine's C compiler (cc) and libc headers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
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
// Static against musl when musl-gcc is there, else glibc (why: scripts/shim-cc.mjs).
const { shimCompilers } = await import('./shim-cc.mjs');
const ways = shimCompilers({ root, cc, ccFromEnv: !!process.env.CC, cflags, src: join(root, 'native', 'berth-shim.c'), out: shimTmp });
for (const [i, w] of ways.entries()) {
  try {
    execFileSync(w.cmd, w.args, { cwd: root, stdio: w.quiet ? ['ignore', 'ignore', 'pipe'] : 'inherit' });
    break;
  } catch (e) {
    if (i === ways.length - 1) throw e;
    console.error(`berth-shim: ${w.label} build failed${w.quiet && e.stderr ? `:\n${String(e.stderr).trim()}\n` : ''}; trying ${ways[i + 1].label}`);
  }
}
renameSync(shimTmp, shimOut);
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);

// Each CLI entry point is bundled into CommonJS: loading ~60 small ESM modules (or ESM chunks
// through serial dynamic imports) cost 30-60 ms per `berth-oci run` here; CJS files parse lazily
// and load through a V8 code cache in a few ms (bin/load-bundle.cjs). The code behind each
// `await import()` is a chunk of its own, loaded when first needed (scripts/bundle-cli.mjs: the
// registry client and undici are half of `berth`). The files sit two levels below dist/, like
// dist/src/runtime/, so both find dist/berth-shim the same way. `berth`'s bundle includes
// better-sqlite3's JavaScript: only its native .node file is loaded from node_modules at run
// time (src/engine/store/db.ts).
const { bundleCli, pruneOldChunks } = await import('./bundle-cli.mjs');
const cjsDir = join(root, 'dist/bundle/cjs');
mkdirSync(cjsDir, { recursive: true });
for (const [entry, name] of [['src/cli/oci/main.ts', 'berth-oci'], ['src/cli/berth/main.ts', 'berth']]) {
  pruneOldChunks(cjsDir, name, await bundleCli(join(root, entry), name, cjsDir));
}
// The seccomp syscall tables are required lazily by relative path; give the bundle a copy.
mkdirSync(join(root, 'dist/bundle/cjs/tables'), { recursive: true });
for (const f of readdirSync(join(root, 'dist/src/seccomp/tables'))) {
  if (f.endsWith('.cjs')) copyFileSync(join(root, 'dist/src/seccomp/tables', f), join(root, 'dist/bundle/cjs/tables', f));
}
