// cgroup v2 device control: an OCI device rule list compiled into a BPF_PROG_TYPE_CGROUP_DEVICE
// program (loaded and attached by `berth-shim devices-bpf`, see ../devbpf.ts).
//
// The kernel calls the program with struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; } (access_type: device type in the low 16 bits, BPF_DEVCG_DEV_BLOCK = 1, _CHAR = 2;
// requested access in the high 16 bits, BPF_DEVCG_ACC_MKNOD = 1, _READ = 2, _WRITE = 4, possibly
// several at once) and allows the access when it returns 1.
//
// Semantics are exactly cgroup v1's: the rules are first run through the v1 emulator
// (devices.ts: a leading "a" sets the default, later rules add or remove exceptions, the last
// rule about a device wins), and the program checks the resulting state as the kernel's v1
// devcgroup_legacy_check_permission does: default deny -> allowed when one exception matches the
// device and holds every requested access; default allow -> denied when one exception matches
// and holds any requested access. (Evaluating the raw rules last-match-first, as runc's
// devicefilter does, differs from v1 for requests of several accesses at once and for a deny rule
// below a wildcard allow, e.g. "allow c *:* m; deny c 1:3 m" still lets v1 mknod c 1:3.)
import type { LinuxDeviceCgroup } from '../../spec/types.js';
import { emulate, normalizeDeviceRules, type DeviceState } from '../devices.js';

export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

/** The opcodes the compiler emits (the test's interpreter implements exactly these). */
export const OP = {
  LDXW: 0x61, // dst = *(u32 *)(src + off)
  MOV64_X: 0xbf, // dst = src
  MOV64_K: 0xb7, // dst = imm
  AND64_K: 0x57, // dst &= imm
  RSH64_K: 0x77, // dst >>= imm
  JEQ_K: 0x15, // if dst == imm: pc += off
  JNE_K: 0x55, // if dst != imm: pc += off
  EXIT: 0x95, // return r0
} as const;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const ins = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

function accessBits(access: string): number {
  return (access.includes('m') ? BPF_DEVCG_ACC_MKNOD : 0) | (access.includes('r') ? BPF_DEVCG_ACC_READ : 0) | (access.includes('w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/** The instructions of the program that enforces `state` (registers: r2 access, r3 type, r4 major, r5 minor). */
export function compileDeviceState(state: DeviceState): Insn[] {
  const out: Insn[] = [
    ins(OP.LDXW, 2, 1, 0, 0), // r2 = ctx->access_type
    ins(OP.MOV64_X, 3, 2, 0, 0), // r3 = r2
    ins(OP.AND64_K, 3, 0, 0, 0xffff), // r3 = type
    ins(OP.RSH64_K, 2, 0, 0, 16), // r2 = access
    ins(OP.LDXW, 4, 1, 4, 0), // r4 = ctx->major
    ins(OP.LDXW, 5, 1, 8, 0), // r5 = ctx->minor
  ];
  const result = state.defaultAllow ? 0 : 1; // what a matching exception decides
  // Map order is insertion order; sort so that equal states compile to equal programs.
  for (const key of [...state.exceptions.keys()].sort()) {
    const access = accessBits(state.exceptions.get(key)!);
    const [type, mm] = key.split(' ') as [string, string];
    const [major, minor] = mm.split(':') as [string, string];
    const block: Insn[] = [];
    // Every test jumps past the end of this block when it fails; offsets are patched below.
    block.push(ins(OP.JNE_K, 3, 0, 0, type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (major !== '*') block.push(ins(OP.JNE_K, 4, 0, 0, Number(major)));
    if (minor !== '*') block.push(ins(OP.JNE_K, 5, 0, 0, Number(minor)));
    if (state.defaultAllow) {
      // denied when the request holds any of the exception's accesses
      block.push(ins(OP.MOV64_X, 0, 2, 0, 0), ins(OP.AND64_K, 0, 0, 0, access), ins(OP.JEQ_K, 0, 0, 0, 0));
    } else if (access !== 7) {
      // allowed when the request holds only accesses the exception grants
      block.push(ins(OP.MOV64_X, 0, 2, 0, 0), ins(OP.AND64_K, 0, 0, 0, ~access & 7), ins(OP.JNE_K, 0, 0, 0, 0));
    }
    block.push(ins(OP.MOV64_K, 0, 0, 0, result), ins(OP.EXIT, 0, 0, 0, 0));
    block.forEach((x, i) => {
      if (x.code === OP.JNE_K || x.code === OP.JEQ_K) x.off = block.length - i - 1;
    });
    out.push(...block);
  }
  out.push(ins(OP.MOV64_K, 0, 0, 0, state.defaultAllow ? 1 : 0), ins(OP.EXIT, 0, 0, 0, 0));
  return out;
}

/** 8 bytes per instruction: code u8, dst:4 | src:4 << 4 u8, off s16, imm s32 (little-endian). */
export function encodeInsns(insns: Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    b.writeUInt8(x.code, i * 8);
    b.writeUInt8((x.dst & 0xf) | ((x.src & 0xf) << 4), i * 8 + 1);
    b.writeInt16LE(x.off, i * 8 + 2);
    b.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return b;
}

export interface DeviceProgram {
  /** The v1 state the program enforces. */
  state: DeviceState;
  /** Every device and access allowed: no program is needed (and an old one can go). */
  allowsAll: boolean;
  /** The program's bytecode. */
  code: Buffer;
}

/**
 * Compile device rules (linux.resources.devices, normally after withDefaultDeviceRules) into a
 * device program. Like v1, evaluation starts from deny-all.
 */
export function compileDeviceRules(rules: LinuxDeviceCgroup[]): DeviceProgram {
  const state = emulate(normalizeDeviceRules(rules));
  return { state, allowsAll: state.defaultAllow && state.exceptions.size === 0, code: encodeInsns(compileDeviceState(state)) };
}
