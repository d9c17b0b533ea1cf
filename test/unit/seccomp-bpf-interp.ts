// A classic-BPF interpreter for seccomp programs, for tests: it checks what the kernel's checker
// checks (known opcodes, aligned in-bounds loads, in-range jumps, a final return) and runs a
// program on a synthetic struct seccomp_data.
import { decodeProgram, type RawInsn } from '../../src/seccomp/bpf.js';

export interface SeccompData {
  nr: number;
  arch: number;
  args?: readonly bigint[];
  ip?: bigint;
}

export interface RunResult {
  ret: number;
  /** Instructions executed. */
  steps: number;
}

/** struct seccomp_data as the kernel lays it out (little-endian host). */
export function seccompDataBytes(d: SeccompData): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.ip ?? 0n), 8);
  for (let i = 0; i < 6; i++) b.writeBigUInt64LE(BigInt.asUintN(64, d.args?.[i] ?? 0n), 16 + 8 * i);
  return b;
}

/** Throws if the kernel would refuse the program (the checks relevant to what we emit). */
export function checkProgram(insns: readonly RawInsn[]): void {
  if (insns.length === 0 || insns.length > 4096) throw new Error(`bad program length ${insns.length}`);
  insns.forEach((insn, pc) => {
    switch (insn.code) {
      case 0x20: // ld w abs
        if (insn.k % 4 !== 0 || insn.k >= 64) throw new Error(`${pc}: bad load offset ${insn.k}`);
        break;
      case 0x54: // and k
      case 0x06: // ret k
        break;
      case 0x05: // ja
        if (pc + 1 + insn.k >= insns.length) throw new Error(`${pc}: ja out of range`);
        break;
      case 0x15:
      case 0x25:
      case 0x35:
      case 0x45:
        if (pc + 1 + insn.jt >= insns.length || pc + 1 + insn.jf >= insns.length) throw new Error(`${pc}: jump out of range`);
        break;
      default:
        throw new Error(`${pc}: opcode 0x${insn.code.toString(16)} not expected`);
    }
  });
  if (insns[insns.length - 1]!.code !== 0x06) throw new Error('last instruction is not a return');
}

export function runProgram(program: Buffer | readonly RawInsn[], data: SeccompData): RunResult {
  const insns = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const mem = seccompDataBytes(data);
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const insn = insns[pc];
    if (!insn) throw new Error(`pc ${pc} out of program`);
    steps++;
    pc++;
    switch (insn.code) {
      case 0x20:
        a = mem.readUInt32LE(insn.k);
        break;
      case 0x54:
        a = (a & insn.k) >>> 0;
        break;
      case 0x06:
        return { ret: insn.k >>> 0, steps };
      case 0x05:
        pc += insn.k;
        break;
      case 0x15:
        pc += a === insn.k >>> 0 ? insn.jt : insn.jf;
        break;
      case 0x25:
        pc += a > insn.k >>> 0 ? insn.jt : insn.jf;
        break;
      case 0x35:
        pc += a >= insn.k >>> 0 ? insn.jt : insn.jf;
        break;
      case 0x45:
        pc += (a & insn.k) !== 0 ? insn.jt : insn.jf;
        break;
      default:
        throw new Error(`unknown opcode 0x${insn.code.toString(16)}`);
    }
  }
}
