// The daemon-side resource checks docker makes on create and on update (moby's
// verifyPlatformContainerResources and adaptContainerSettings), with docker's messages: a CPU list
// that is malformed or names CPUs the host lacks, --cpus out of range, and CPU shares below or above
// what the kernel takes (docker moves them to the bound, it does not refuse them).
import { availableParallelism } from 'node:os';
import { hostFor } from '../cgroups/host.js';
import { HostFs } from '../cgroups/hostfs.js';
import { invalid } from './errors.js';

const MIN_SHARES = 2;
const MAX_SHARES = 262144;

/** docker's ParseUintList: "0-2,4" -> [0,1,2,4]; null when malformed (docker: "invalid format"). */
export function cpuList(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const r of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(r);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65536) return null;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** The host's CPUs as the root cpuset lists them ("0-1"). */
function hostCpus(): string {
  try {
    return hostFor(new HostFs('')).cpus().trim();
  } catch {
    return `0-${availableParallelism() - 1}`;
  }
}

/** --cpuset-cpus: docker's "Invalid value ... for cpuset cpus" and "Requested CPUs are not available". */
export function checkCpuset(cpus: string, host: string = hostCpus()): void {
  if (!cpus) return;
  const want = cpuList(cpus);
  if (!want) throw invalid(`Invalid value ${cpus} for cpuset cpus: invalid format: ${cpus}`);
  const have = new Set(cpuList(host) ?? []);
  if (have.size && want.some((c) => !have.has(c))) throw invalid(`Requested CPUs are not available - requested ${cpus}, available: ${host}`);
}

/** --cpus: docker's one message for too little and too much. */
export function checkNanoCpus(nano: number, ncpu: number = availableParallelism()): void {
  if (nano > ncpu * 1e9 || (nano > 0 && nano < 1e7)) {
    throw invalid(`Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`);
  }
}

/** --cpu-shares: 1 becomes 2 and 300000 becomes 262144, as docker's daemon adapts them. */
export function adaptCpuShares(shares: number): number {
  if (shares <= 0) return shares;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** update: the same checks on the merged HostConfig (docker runs them with update=true). */
export function checkUpdatedResources(hc: { NanoCpus: number; CpusetCpus: string; CpuShares: number }): void {
  checkNanoCpus(hc.NanoCpus);
  checkCpuset(hc.CpusetCpus);
  hc.CpuShares = adaptCpuShares(hc.CpuShares);
}
