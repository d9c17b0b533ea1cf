// The seccomp semantics stated directly in TypeScript, independent of the code generator: the
// tests compare what the compiled BPF returns with what this returns.
import { ARCHES, RUNNABLE_ON, X32_SYSCALL_BIT, resolveNativeArch, scmpArch, type SeccompArch } from '../../src/seccomp/arch.js';
import { BAD_ARCH_RET, argView, condHolds, normalizeSeccomp, type Rule } from '../../src/seccomp/profile.js';
import { syscallTable } from '../../src/seccomp/syscalls.js';
import type { LinuxSeccomp } from '../../src/spec/types.js';
import type { SeccompData } from './seccomp-bpf-interp.js';

const SOCKETCALL: Record<string, number> = {
  socket: 1, bind: 2, connect: 3, listen: 4, accept: 5, getsockname: 6, getpeername: 7,
  socketpair: 8, send: 9, recv: 10, sendto: 11, recvfrom: 12, shutdown: 13, setsockopt: 14,
  getsockopt: 15, sendmsg: 16, recvmsg: 17, accept4: 18, recvmmsg: 19, sendmmsg: 20,
};
const IPC: Record<string, number> = {
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
  shmat: 21, shmdt: 22, shmget: 23, shmctl: 24,
};

/** Which ABI a syscall belongs to, or undefined when the filter does not admit it. */
export function abiOf(spec: LinuxSeccomp, native: string, d: SeccompData): SeccompArch | undefined {
  const nativeArch = resolveNativeArch(native);
  const listed = new Set<SeccompArch>([nativeArch]);
  for (const n of spec.architectures ?? []) {
    const a = scmpArch(n);
    if (a && RUNNABLE_ON[nativeArch].includes(a)) listed.add(a);
  }
  for (const a of listed) {
    const info = ARCHES[a];
    if (info.auditArch !== d.arch >>> 0) continue;
    const nr = d.nr >>> 0;
    if (nr >= info.nrMin && nr <= info.nrMax) return a;
  }
  return undefined;
}

export function referenceAction(spec: LinuxSeccomp, native: string, d: SeccompData): number {
  const norm = normalizeSeccomp(spec, (n) => scmpArch(n) !== undefined);
  const abi = abiOf(spec, native, d);
  if (!abi) return BAD_ARCH_RET;
  const bits = ARCHES[abi].argBits;
  const table = syscallTable(abi);
  const nr = d.nr >>> 0;
  const args = [0, 1, 2, 3, 4, 5].map((i) => argView(BigInt.asUintN(64, d.args?.[i] ?? 0n), bits));
  const holds = (r: Rule) => r.conds.every((c) => condHolds(c, args[c.index]!));
  for (const { names, rule } of norm.rules) {
    for (const name of names) {
      if (table.get(name) === nr && holds(rule)) return rule.ret;
      // 32-bit x86 multiplexes socket and IPC calls; argument-free rules cover that path too.
      if (abi === 'x86' && rule.conds.length === 0) {
        if (SOCKETCALL[name] !== undefined && nr === table.get('socketcall') && args[0] === BigInt(SOCKETCALL[name]!)) return rule.ret;
        if (IPC[name] !== undefined && nr === table.get('ipc') && (args[0]! & 0xffffn) === BigInt(IPC[name]!)) return rule.ret;
      }
    }
  }
  return norm.defaultRet;
}

export { X32_SYSCALL_BIT };
