// How berth-shim is compiled: the ways to try, best first (used by scripts/build.mjs).
//
// 1. Static against musl (musl-gcc, from the Debian package musl-tools that scripts/setup-host.sh
//    installs). Every container start runs the shim from a sealed memfd copy of itself
//    (CVE-2019-5736), so its size is copied per start, and a static glibc's start-up asks the
//    CPU for its cache sizes with ~50 `cpuid` instructions, each a VM exit on virtual machines.
//    Measured here: exec + exit 0.09 ms CPU (musl, 170 KB) against 0.49 ms (glibc, 1 MB), and
//    ~2 ms CPU less per container start (two execs and the copy), the same for every idle
//    monitor's memory.
// 2. Static against glibc (libc6-dev's libc.a).
// 3. Dynamic against glibc.
// An explicit CC skips musl: the caller chose the compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * musl-gcc searches only musl's own headers; the kernel's UAPI headers (linux/, asm/,
 * asm-generic/) come from a directory of links to the system's copies, searched after them.
 * Returns that directory, or null when the system has no kernel headers.
 */
function uapiIncludeDir(cc, dir) {
  let multiarch = '';
  try {
    multiarch = execFileSync(cc, ['-print-multiarch'], { encoding: 'utf8' }).trim();
  } catch {
    /* not gcc: the plain layout below */
  }
  const links = {
    linux: '/usr/include/linux',
    'asm-generic': '/usr/include/asm-generic',
    asm: multiarch && existsSync(`/usr/include/${multiarch}/asm`) ? `/usr/include/${multiarch}/asm` : '/usr/include/asm',
  };
  if (!Object.values(links).every((p) => existsSync(p))) return null;
  // made in place and never removed: builds running at the same time share it
  mkdirSync(dir, { recursive: true });
  for (const [name, target] of Object.entries(links)) {
    const at = join(dir, name);
    let cur = null;
    try {
      cur = readlinkSync(at);
    } catch {
      /* missing */
    }
    if (cur === target) continue;
    const tmp = `${at}.tmp-${process.pid}`;
    rmSync(tmp, { force: true });
    symlinkSync(target, tmp);
    renameSync(tmp, at); // atomic: a concurrent build sees the old link or the new one
  }
  return dir;
}

/** The compile commands to try, in order: [{ label, cmd, args, quiet }]. */
export function shimCompilers({ root, cc, ccFromEnv, cflags, src, out }) {
  const ways = [];
  if (!ccFromEnv && has('musl-gcc')) {
    const inc = uapiIncludeDir(cc, join(root, 'dist', '.musl-uapi'));
    if (inc) ways.push({ label: 'static (musl)', cmd: 'musl-gcc', args: [...cflags, '-static', '-s', '-idirafter', inc, '-o', out, src], quiet: true });
  }
  ways.push({ label: 'static (glibc)', cmd: cc, args: [...cflags, '-static', '-no-pie', '-o', out, src], quiet: false });
  ways.push({ label: 'dynamic (glibc)', cmd: cc, args: [...cflags, '-o', out, src], quiet: false });
  return ways;
}
