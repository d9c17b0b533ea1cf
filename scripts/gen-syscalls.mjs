#!/usr/bin/env node
// Generates src/seccomp/tables/<arch>.cts: syscall name -> number, per architecture, as data.
// CommonJS (.cts -> .cjs) on purpose: src/seccomp/syscalls.ts require()s only the tables of the
// architectures a filter covers, synchronously, the first time it needs them.
//
// Source of truth: the kernel's UAPI headers as Debian packages them (run as root once):
//   apt-get install linux-libc-dev linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross \
//                   linux-libc-dev-riscv64-cross
// The headers are run through the C preprocessor (`cc -E`), so every macro the kernel uses
// (__X32_SYSCALL_BIT, __NR3264_*, __NR_SYSCALL_BASE, __ARM_NR_BASE, ...) is evaluated the way the
// kernel's own build evaluates it. Only the generated TypeScript is committed; re-run this
// script after a header upgrade:  node scripts/gen-syscalls.mjs
//
// Syscalls newer than the packaged headers: since Linux 5.1 (pidfd_send_signal, 424) every
// architecture uses the same number for each new syscall, so the list below (taken from the
// kernel's scripts/syscall.tbl) fills in what older headers lack, on every architecture (x32 with
// its __X32_SYSCALL_BIT). A number that an architecture never wired up only yields ENOSYS there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'src', 'seccomp', 'tables');
const cc = process.env.CC || 'cc';

/** Unified syscall numbers (>= 451) newer than Debian 12's 6.1 headers; up to Linux 6.18. */
const UNIFIED_NEWER = [
  [451, 'cachestat'], [452, 'fchmodat2'], [453, 'map_shadow_stack'], [454, 'futex_wake'],
  [455, 'futex_wait'], [456, 'futex_requeue'], [457, 'statmount'], [458, 'listmount'],
  [459, 'lsm_get_self_attr'], [460, 'lsm_set_self_attr'], [461, 'lsm_list_modules'],
  [462, 'mseal'], [463, 'setxattrat'], [464, 'getxattrat'], [465, 'listxattrat'],
  [466, 'removexattrat'], [467, 'open_tree_attr'], [468, 'file_getattr'], [469, 'file_setattr'],
];

/** Architecture-specific syscalls newer than the 6.1 headers (from arch/<arch>/include/uapi). */
const ARCH_NEWER = {
  riscv64: [[258, 'riscv_hwprobe']], // __NR_arch_specific_syscall + 14, Linux 6.4
};

/** Macros that look like syscalls but are not. */
const NOT_SYSCALLS = new Set([
  'syscalls', 'arch_specific_syscall', 'SYSCALL_BASE', 'OABI_SYSCALL_BASE', 'SYSCALL_MASK', 'BASE',
]);

const ARCHES = [
  {
    name: 'x86_64', unified: 0,
    inc: '/usr/include/x86_64-linux-gnu', header: 'asm/unistd_64.h', cflags: [],
    pkg: 'linux-libc-dev',
  },
  {
    name: 'x86', unified: 0,
    inc: '/usr/include/x86_64-linux-gnu', header: 'asm/unistd_32.h', cflags: [],
    pkg: 'linux-libc-dev',
  },
  {
    name: 'x32', unified: 0x40000000,
    inc: '/usr/include/x86_64-linux-gnu', header: 'asm/unistd_x32.h',
    cflags: ['-D__X32_SYSCALL_BIT=0x40000000'], pkg: 'linux-libc-dev',
  },
  {
    name: 'aarch64', unified: 0,
    inc: '/usr/aarch64-linux-gnu/include', header: 'asm/unistd.h', cflags: ['-D__aarch64__'],
    pkg: 'linux-libc-dev-arm64-cross',
  },
  {
    name: 'arm', unified: 0,
    inc: '/usr/arm-linux-gnueabihf/include', header: 'asm/unistd.h',
    cflags: ['-D__ARM_EABI__', '-D__arm__', '-U__x86_64__', '-U__LP64__'],
    pkg: 'linux-libc-dev-armhf-cross',
  },
  {
    name: 'riscv64', unified: 0,
    inc: '/usr/riscv64-linux-gnu/include', header: 'asm/unistd.h', cflags: ['-D__riscv', '-D__riscv_xlen=64'],
    pkg: 'linux-libc-dev-riscv64-cross',
  },
];

/** Evaluates the integer expressions the headers produce: literals, + - | <<, parentheses. */
function evalExpr(src) {
  const toks = src.match(/0[xX][0-9a-fA-F]+|\d+|<<|[()+\-|]/g) ?? [];
  if (toks.join('') !== src.replace(/\s+/g, '').replace(/([0-9a-fA-F])[uUlL]+/g, '$1')) return undefined;
  let i = 0;
  const primary = () => {
    const t = toks[i++];
    if (t === '(') { const v = or(); if (toks[i++] !== ')') throw new Error('paren'); return v; }
    if (t === '-') return -primary();
    if (t === undefined || !/^\d|^0x/i.test(t)) throw new Error(`bad token ${t}`);
    return Number(t);
  };
  const add = () => { let v = primary(); while (toks[i] === '+' || toks[i] === '-') { const op = toks[i++]; const r = primary(); v = op === '+' ? v + r : v - r; } return v; };
  const shift = () => { let v = add(); while (toks[i] === '<<') { i++; v = v * 2 ** add(); } return v; };
  const or = () => { let v = shift(); while (toks[i] === '|') { i++; v = (v | shift()) >>> 0; } return v; };
  try {
    const v = or();
    return i === toks.length && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

function pkgVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function extract(arch, tmp) {
  if (!existsSync(join(arch.inc, arch.header))) {
    throw new Error(`${join(arch.inc, arch.header)} missing: apt-get install ${arch.pkg}`);
  }
  const base = [...arch.cflags, '-nostdinc', '-isystem', arch.inc, '-isystem', '/usr/include'];
  const dm = execFileSync(cc, ['-E', '-dM', ...base, '-include', arch.header, '-x', 'c', '/dev/null'], { encoding: 'utf8' });
  const names = new Map(); // syscall name -> macro
  for (const m of dm.matchAll(/^#define (__NR_|__ARM_NR_)(\w+)\s/gm)) {
    const [, prefix, name] = m;
    if (NOT_SYSCALLS.has(name) || name.startsWith('_')) continue;
    names.set(name, prefix + name);
  }
  const probe = join(tmp, `${arch.name}.c`);
  writeFileSync(probe, `#include <${arch.header}>\n` + [...names].map(([n, mac]) => `@@${n}@@ ${mac}\n`).join(''));
  const pp = execFileSync(cc, ['-E', '-P', ...base, probe], { encoding: 'utf8' });
  const table = new Map();
  for (const m of pp.matchAll(/^@@(\w+)@@ (.*)$/gm)) {
    const v = evalExpr(m[2].trim());
    if (v === undefined) throw new Error(`${arch.name}: cannot evaluate ${m[1]} = ${m[2]}`);
    table.set(m[1], v);
  }
  for (const [nr, name] of UNIFIED_NEWER) if (!table.has(name)) table.set(name, arch.unified + nr);
  for (const [nr, name] of ARCH_NEWER[arch.name] ?? []) if (!table.has(name)) table.set(name, nr);
  return table;
}

const tmp = mkdtempSync(join(tmpdir(), 'gen-syscalls-'));
try {
  mkdirSync(outDir, { recursive: true });
  for (const arch of ARCHES) {
    const table = extract(arch, tmp);
    const entries = [...table].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    // Compact: "name nr" pairs, space separated; decoded lazily by src/seccomp/syscalls.ts.
    const lines = [];
    let line = '';
    for (const [n, v] of entries) {
      const item = `${n} ${v} `;
      if (line.length + item.length > 96) { lines.push(line); line = ''; }
      line += item;
    }
    if (line) lines.push(line);
    const body = lines.map((l) => `  '${l}'`).join(' +\n');
    const src = `// Generated by scripts/gen-syscalls.mjs from ${arch.pkg} ${pkgVersion(arch.pkg)} (${arch.header})
// plus the unified syscall numbers up to Linux 6.18. DO NOT EDIT.
// ${entries.length} syscalls, as "name number" pairs.
export const SYSCALLS: string =
${body};
`;
    writeFileSync(join(outDir, `${arch.name}.cts`), src);
    console.log(`${arch.name}: ${entries.length} syscalls, max ${entries.at(-1)[0]}=${entries.at(-1)[1]}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
