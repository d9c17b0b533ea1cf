// Syscall name -> number per architecture. The generated tables (tables/<arch>.cts, compact
// "name nr ..." strings) are CommonJS so that they can be required synchronously and lazily:
// importing berth loads none of them; compiling a filter loads those of its architectures.
import { createRequire } from 'node:module';
import type { SeccompArch } from './arch.js';
// Type-only imports: they make tsc build every table and vanish from the emitted JavaScript.
import type * as Aarch64 from './tables/aarch64.cjs';
import type * as Arm from './tables/arm.cjs';
import type * as Riscv64 from './tables/riscv64.cjs';
import type * as X32 from './tables/x32.cjs';
import type * as X86 from './tables/x86.cjs';
import type * as X86_64 from './tables/x86_64.cjs';

type TableModule = typeof Aarch64 | typeof Arm | typeof Riscv64 | typeof X32 | typeof X86 | typeof X86_64;

const require = createRequire(import.meta.url);
const decoded = new Map<SeccompArch, ReadonlyMap<string, number>>();

export function syscallTable(arch: SeccompArch): ReadonlyMap<string, number> {
  let t = decoded.get(arch);
  if (!t) {
    const mod = require(`./tables/${arch}.cjs`) as TableModule;
    const m = new Map<string, number>();
    const parts = mod.SYSCALLS.trim().split(' ');
    for (let i = 0; i + 1 < parts.length; i += 2) m.set(parts[i]!, Number(parts[i + 1]));
    decoded.set(arch, m);
    t = m;
  }
  return t;
}

/** The number of `name` on `arch`, or undefined if that architecture has no such syscall. */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  return syscallTable(arch).get(name);
}

/** The name for a number (first in table order), for disassembly and debug logs. */
export function syscallName(arch: SeccompArch, nr: number): string | undefined {
  for (const [n, v] of syscallTable(arch)) if (v === nr) return n;
  return undefined;
}
