// Classic BPF as the kernel's seccomp filter accepts it: instruction encoding, a small assembler
// with symbolic labels (conditional jumps reach only 255 instructions, so far targets get a
// BPF_JA trampoline), and a disassembler for debug logs and tests.

/** struct sock_filter is 8 bytes: u16 code, u8 jt, u8 jf, u32 k (host byte order). */
export const BPF_INSN_SIZE = 8;
/** The kernel's limit on one filter program (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

// Opcodes (class | size | mode, or class | op | source).
export const BPF_LD_W_ABS = 0x20; // A = *(u32 *)(seccomp_data + k)
export const BPF_ALU_AND_K = 0x54; // A &= k
export const BPF_JMP_JA = 0x05; // pc += k
export const BPF_JMP_JEQ_K = 0x15; // pc += (A == k) ? jt : jf
export const BPF_JMP_JGT_K = 0x25; // pc += (A > k) ? jt : jf   (unsigned)
export const BPF_JMP_JGE_K = 0x35; // pc += (A >= k) ? jt : jf  (unsigned)
export const BPF_JMP_JSET_K = 0x45; // pc += (A & k) ? jt : jf
export const BPF_RET_K = 0x06; // return k

/** struct seccomp_data offsets (little-endian: the low word of an argument comes first). */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export function argLowOffset(index: number): number {
  return 16 + 8 * index;
}
export function argHighOffset(index: number): number {
  return 20 + 8 * index;
}

export interface RawInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type Label = number & { readonly __label: unique symbol };
export type CondOp = 'jeq' | 'jgt' | 'jge' | 'jset';

/** Symbolic instructions; jumps name labels, and every label must be placed after its uses. */
export type AsmInsn =
  | { kind: 'ld'; k: number }
  | { kind: 'and'; k: number }
  | { kind: 'jcond'; op: CondOp; k: number; jt: Label; jf: Label }
  | { kind: 'ja'; target: Label }
  | { kind: 'ret'; k: number }
  | { kind: 'label'; label: Label };

const COND_CODE: Record<CondOp, number> = {
  jeq: BPF_JMP_JEQ_K,
  jgt: BPF_JMP_JGT_K,
  jge: BPF_JMP_JGE_K,
  jset: BPF_JMP_JSET_K,
};

/** Collects symbolic instructions and assembles them into raw ones. */
export class Assembler {
  private readonly code: AsmInsn[] = [];
  private nextLabel = 0;

  label(): Label {
    return this.nextLabel++ as Label;
  }
  place(label: Label): void {
    this.code.push({ kind: 'label', label });
  }
  ld(k: number): void {
    this.code.push({ kind: 'ld', k });
  }
  and(k: number): void {
    this.code.push({ kind: 'and', k: k >>> 0 });
  }
  jcond(op: CondOp, k: number, jt: Label, jf: Label): void {
    if (jt === jf) this.ja(jt);
    else this.code.push({ kind: 'jcond', op, k: k >>> 0, jt, jf });
  }
  ja(target: Label): void {
    this.code.push({ kind: 'ja', target });
  }
  ret(k: number): void {
    this.code.push({ kind: 'ret', k: k >>> 0 });
  }

  /**
   * Resolves labels. A conditional branch whose target is more than 255 instructions away is
   * pointed at a BPF_JA placed right after it (which reaches any forward distance); placing
   * trampolines moves later code, so this repeats until every branch fits.
   */
  assemble(): RawInsn[] {
    let code = peephole(this.code);
    for (;;) {
      const pos = labelPositions(code);
      const out: AsmInsn[] = [];
      let changed = false;
      let pc = 0;
      for (const insn of code) {
        if (insn.kind !== 'jcond') {
          out.push(insn);
          if (insn.kind !== 'label') pc++;
          continue;
        }
        const far = (l: Label) => at(pos, l) - (pc + 1) > 255;
        const tFar = far(insn.jt);
        const fFar = far(insn.jf);
        if (!tFar && !fFar) {
          out.push(insn);
        } else {
          changed = true;
          const jt = tFar ? this.label() : insn.jt;
          const jf = fFar ? this.label() : insn.jf;
          out.push({ ...insn, jt, jf });
          if (tFar) out.push({ kind: 'label', label: jt }, { kind: 'ja', target: insn.jt });
          if (fFar) out.push({ kind: 'label', label: jf }, { kind: 'ja', target: insn.jf });
        }
        pc++;
      }
      code = out;
      if (!changed) break;
    }
    const pos = labelPositions(code);
    const raw: RawInsn[] = [];
    for (const insn of code) {
      const pc = raw.length;
      const off = (l: Label) => {
        const d = at(pos, l) - (pc + 1);
        if (d < 0) throw new Error(`bpf: backward jump to label ${l} at ${pc}`);
        return d;
      };
      switch (insn.kind) {
        case 'label':
          break;
        case 'ld':
          raw.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: insn.k });
          break;
        case 'and':
          raw.push({ code: BPF_ALU_AND_K, jt: 0, jf: 0, k: insn.k });
          break;
        case 'ret':
          raw.push({ code: BPF_RET_K, jt: 0, jf: 0, k: insn.k });
          break;
        case 'ja':
          raw.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: off(insn.target) });
          break;
        case 'jcond':
          raw.push({ code: COND_CODE[insn.op], jt: off(insn.jt), jf: off(insn.jf), k: insn.k });
          break;
      }
    }
    return raw;
  }
}

function at(pos: Map<Label, number>, l: Label): number {
  const p = pos.get(l);
  if (p === undefined) throw new Error(`bpf: label ${l} never placed`);
  return p;
}

function labelPositions(code: readonly AsmInsn[]): Map<Label, number> {
  const pos = new Map<Label, number>();
  let pc = 0;
  for (const insn of code) {
    if (insn.kind === 'label') pos.set(insn.label, pc);
    else pc++;
  }
  return pos;
}

/**
 * Jump threading and dead-jump removal: a jump to a label that is followed by `ja X` goes to X
 * directly; a jump to a label that holds `ret k` stays (BPF has no conditional return); an
 * unconditional jump to the very next instruction is dropped.
 */
function peephole(input: readonly AsmInsn[]): AsmInsn[] {
  // Resolve each label to the first real instruction after it.
  const firstAfter = new Map<Label, AsmInsn | undefined>();
  for (let i = 0; i < input.length; i++) {
    const insn = input[i]!;
    if (insn.kind !== 'label') continue;
    let j = i + 1;
    while (j < input.length && input[j]!.kind === 'label') j++;
    firstAfter.set(insn.label, input[j]);
  }
  const resolve = (l: Label): Label => {
    const seen = new Set<Label>();
    let cur = l;
    for (;;) {
      const next = firstAfter.get(cur);
      if (!next || next.kind !== 'ja' || seen.has(cur)) return cur;
      seen.add(cur);
      cur = next.target;
    }
  };
  const out: AsmInsn[] = [];
  for (const insn of input) {
    if (insn.kind === 'jcond') {
      const jt = resolve(insn.jt);
      const jf = resolve(insn.jf);
      out.push(jt === jf ? { kind: 'ja', target: jt } : { ...insn, jt, jf });
    } else if (insn.kind === 'ja') {
      out.push({ kind: 'ja', target: resolve(insn.target) });
    } else {
      out.push(insn);
    }
  }
  // Drop `ja L` where L is placed before the next real instruction.
  const result: AsmInsn[] = [];
  for (let i = 0; i < out.length; i++) {
    const insn = out[i]!;
    if (insn.kind === 'ja') {
      let j = i + 1;
      let toNext = false;
      while (j < out.length && out[j]!.kind === 'label') {
        if ((out[j] as { label: Label }).label === insn.target) toNext = true;
        j++;
      }
      if (toNext) continue;
    }
    result.push(insn);
  }
  return result;
}

/** struct sock_filter[] in little-endian byte order (x86_64, aarch64, arm, riscv64). */
export function encodeProgram(insns: readonly RawInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * BPF_INSN_SIZE);
  insns.forEach((insn, i) => {
    const o = i * BPF_INSN_SIZE;
    buf.writeUInt16LE(insn.code, o);
    buf.writeUInt8(insn.jt, o + 2);
    buf.writeUInt8(insn.jf, o + 3);
    buf.writeUInt32LE(insn.k >>> 0, o + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): RawInsn[] {
  if (buf.length % BPF_INSN_SIZE !== 0) throw new Error(`bpf: program length ${buf.length} is not a multiple of 8`);
  const out: RawInsn[] = [];
  for (let o = 0; o < buf.length; o += BPF_INSN_SIZE) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}

const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;

/** One line per instruction, e.g. `0003: jge #0x40000000 jt 5 jf 4`. */
export function disassemble(insns: readonly RawInsn[]): string {
  return insns
    .map((insn, pc) => {
      const n = String(pc).padStart(4, '0');
      const tgt = (d: number) => pc + 1 + d;
      switch (insn.code) {
        case BPF_LD_W_ABS:
          return `${n}: ld [${insn.k}]`;
        case BPF_ALU_AND_K:
          return `${n}: and #${hex(insn.k)}`;
        case BPF_JMP_JA:
          return `${n}: ja ${tgt(insn.k)}`;
        case BPF_RET_K:
          return `${n}: ret #${hex(insn.k)}`;
        default: {
          const op = Object.entries(COND_CODE).find(([, c]) => c === insn.code)?.[0];
          if (op) return `${n}: ${op} #${hex(insn.k)} jt ${tgt(insn.jt)} jf ${tgt(insn.jf)}`;
          return `${n}: .insn code=${hex(insn.code)} jt=${insn.jt} jf=${insn.jf} k=${hex(insn.k)}`;
        }
      }
    })
    .join('\n');
}
