// Process settings beyond identity: personality, I/O priority, scheduler, CPU affinity.
import type { LinuxPersonality, Process } from '../spec/types.js';
import { RuntimeError } from './errors.js';
import type { PlanOp } from './plan.js';

const PERSONALITY: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

/** "0-3,7" -> [0,1,2,3,7] */
export function parseCpuList(list: string, where: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RuntimeError(`config.json: ${where}: "${list}" is not a CPU list like 0-3,7`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a || b >= 1024) throw new RuntimeError(`config.json: ${where}: CPU range "${part}" is out of order or above 1023`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

export function compileProcessExtras(p: Process, personality?: LinuxPersonality): PlanOp[] {
  const ops: PlanOp[] = [];
  if (personality) {
    const dom = PERSONALITY[personality.domain];
    if (dom === undefined) throw new RuntimeError(`config.json: linux.personality.domain: "${personality.domain}" (use LINUX or LINUX32)`);
    if (personality.flags?.length) throw new RuntimeError('config.json: linux.personality.flags: no personality flags are defined by the runtime spec; remove them');
    ops.push(['PERSONALITY', dom]);
  }
  if (p.ioPriority) {
    const cls = IOPRIO_CLASS[p.ioPriority.class];
    if (cls === undefined) throw new RuntimeError(`config.json: process.ioPriority.class: unknown class "${p.ioPriority.class}"`);
    ops.push(['IOPRIO', (cls << 13) | p.ioPriority.priority]);
  }
  if (p.scheduler) {
    const s = p.scheduler;
    const policy = SCHED_POLICY[s.policy];
    if (policy === undefined) throw new RuntimeError(`config.json: process.scheduler.policy: unknown policy "${s.policy}"`);
    let flags = 0;
    for (const f of s.flags ?? []) {
      const v = SCHED_FLAG[f];
      if (v === undefined) throw new RuntimeError(`config.json: process.scheduler.flags: unknown flag "${f}"`);
      flags |= v;
    }
    ops.push(['SCHED', policy, s.nice ?? 0, s.priority ?? 0, flags, s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0]);
  }
  // "initial" applies before the process joins its cgroup, "final" after; both are in place
  // here before exec, so the final set is what the process runs with.
  const aff = p.execCPUAffinity?.final ?? p.execCPUAffinity?.initial;
  if (aff) ops.push(['CPU_AFFINITY', ...parseCpuList(aff, 'process.execCPUAffinity')]);
  return ops;
}
