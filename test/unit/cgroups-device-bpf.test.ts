// The cgroup v2 device program compiler, run by a small eBPF interpreter (only the instructions
// the compiler emits) against the v1 devices emulator (devices.ts) over random rule lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { LinuxDeviceCgroup } from '../../src/spec/types.js';
import { DEFAULT_DEVICE_RULES, deviceAllowed, emulate, normalizeDeviceRules, withDefaultDeviceRules } from '../../src/cgroups/devices.js';
import { BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR, compileDeviceRules, OP } from '../../src/cgroups/v2/device-bpf.js';

const ACC: Record<string, number> = { m: 1, r: 2, w: 4 };

/** Run a BPF_PROG_TYPE_CGROUP_DEVICE program on struct bpf_cgroup_dev_ctx; returns r0. */
function run(code: Buffer, type: 'c' | 'b', major: number, minor: number, access: string): number {
  assert.equal(code.length % 8, 0);
  const ctx = Buffer.alloc(12);
  ctx.writeUInt32LE(((([...access].reduce((a, c) => a | ACC[c]!, 0)) << 16) | (type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)) >>> 0, 0);
  ctx.writeUInt32LE(major, 4);
  ctx.writeUInt32LE(minor, 8);
  const r: (bigint | undefined)[] = new Array(11).fill(undefined);
  r[1] = -1n; // the context pointer: only usable as LDX base
  const M = (1n << 64n) - 1n;
  const reg = (i: number): bigint => {
    assert.notEqual(r[i], undefined, `r${i} read before written`);
    return r[i]!;
  };
  const n = code.length / 8;
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    assert.ok(steps < 100_000);
    const op = code.readUInt8(pc * 8);
    const dst = code.readUInt8(pc * 8 + 1) & 0xf;
    const src = code.readUInt8(pc * 8 + 1) >> 4;
    const off = code.readInt16LE(pc * 8 + 2);
    const imm = BigInt(code.readInt32LE(pc * 8 + 4)) & M; // sign-extended to 64 bits
    const jump = (t: boolean): void => {
      if (t) {
        assert.ok(off >= 0, 'no backward jumps');
        pc += off;
      }
    };
    switch (op) {
      case OP.LDXW:
        assert.equal(src, 1);
        assert.ok([0, 4, 8].includes(off));
        r[dst] = BigInt(ctx.readUInt32LE(off));
        break;
      case OP.MOV64_X: r[dst] = reg(src); break;
      case OP.MOV64_K: r[dst] = imm; break;
      case OP.AND64_K: r[dst] = reg(dst) & imm; break;
      case OP.RSH64_K: r[dst] = reg(dst) >> imm; break;
      case OP.JEQ_K: jump(reg(dst) === imm); break;
      case OP.JNE_K: jump(reg(dst) !== imm); break;
      case OP.EXIT: {
        const v = reg(0);
        assert.ok(v === 0n || v === 1n, 'a device program returns 0 or 1');
        return Number(v);
      }
      default:
        assert.fail(`unexpected opcode 0x${op.toString(16)}`);
    }
    assert.ok(pc + 1 <= n, 'jump out of the program');
  }
  return assert.fail('fell off the end of the program');
}

const majors = [0, 1, 5, 136, 0xfffff];
const minors = [0, 3, 5, 9, 0xfffff];
const num = (pool: number[]): fc.Arbitrary<number | undefined> => fc.oneof(fc.constantFrom(...pool), fc.constant(undefined), fc.constant(-1));
const accessArb = fc.subarray(['r', 'w', 'm'], { minLength: 1 }).map((a) => a.join(''));
const ruleArb: fc.Arbitrary<LinuxDeviceCgroup> = fc.oneof(
  { weight: 1, arbitrary: fc.boolean().map((allow) => ({ allow, access: 'rwm' })) },
  { weight: 6, arbitrary: fc.record({ allow: fc.boolean(), type: fc.constantFrom('c', 'b'), major: num(majors), minor: num(minors), access: accessArb }) },
);
const deviceArb = fc.record({ type: fc.constantFrom<'c' | 'b'>('c', 'b'), major: fc.constantFrom(...majors, 2), minor: fc.constantFrom(...minors, 7), access: accessArb });

describe('cgroup v2 device program', () => {
  it('decides like the v1 devices controller for random rule lists and devices', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.boolean(), fc.array(deviceArb, { minLength: 1, maxLength: 20 }), (spec, defaults, devs) => {
        const rules = defaults ? withDefaultDeviceRules(spec) : spec;
        const prog = compileDeviceRules(rules);
        const state = emulate(normalizeDeviceRules(rules));
        for (const d of devs) {
          const want = deviceAllowed(state, d.type, d.major, d.minor, d.access);
          assert.equal(run(prog.code, d.type, d.major, d.minor, d.access), want ? 1 : 0, `${d.type} ${d.major}:${d.minor} ${d.access}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('enforces the default rules: /dev/null usable, /dev/sda not, mknod of any char device', () => {
    const prog = compileDeviceRules(withDefaultDeviceRules([{ allow: false, access: 'rwm' }]));
    assert.equal(prog.allowsAll, false);
    assert.equal(run(prog.code, 'c', 1, 3, 'rw'), 1);
    assert.equal(run(prog.code, 'c', 136, 4, 'rw'), 1);
    assert.equal(run(prog.code, 'b', 8, 0, 'r'), 0);
    assert.equal(run(prog.code, 'c', 10, 200, 'rw'), 0);
    assert.equal(run(prog.code, 'c', 10, 200, 'm'), 1);
    assert.equal(run(prog.code, 'c', 10, 200, 'rm'), 0);
    // prelude 6, two "c/b *:* m" blocks of 6, eight "c x:y rwm" of 5, "c 136:* rwm" of 4, default 2
    assert.equal(DEFAULT_DEVICE_RULES.length, 11);
    assert.equal(prog.code.length / 8, 6 + 2 * 6 + 8 * 5 + 4 + 2);
  });

  it('follows v1 where last-match-wins would not: a deny below a wildcard allow, several accesses at once', () => {
    // v1: "deny c 1:3 m" removes nothing (no exact exception), so the wildcard still allows it
    const p = compileDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'm' }]);
    assert.equal(run(p.code, 'c', 1, 3, 'm'), 1);
    // v1: c 1:3 keeps only r; an open for reading and writing is refused
    const q = compileDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]);
    assert.deepEqual([run(q.code, 'c', 1, 3, 'r'), run(q.code, 'c', 1, 3, 'w'), run(q.code, 'c', 1, 3, 'rw')], [1, 0, 0]);
    // default allow with a denied exception
    const d = compileDeviceRules([{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, access: 'w' }]);
    assert.deepEqual([run(d.code, 'b', 8, 1, 'r'), run(d.code, 'b', 8, 1, 'rw'), run(d.code, 'c', 8, 1, 'w')], [1, 0, 1]);
  });

  it('needs no program for rules that allow everything; equal states give equal programs', () => {
    assert.equal(compileDeviceRules([{ allow: true, access: 'rwm' }]).allowsAll, true);
    assert.equal(compileDeviceRules([]).allowsAll, false); // v1 starts from deny-all
    const a = compileDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: true, type: 'c', major: 1, minor: 5 }]);
    const b = compileDeviceRules([{ allow: true, type: 'c', major: 1, minor: 5 }, { allow: true, type: 'c', major: 1, minor: 3 }]);
    assert.deepEqual(a.code, b.code);
  });
});
