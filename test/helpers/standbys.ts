// The standby monitors a warm library of this test process started (src/engine/monitor.ts). They
// come in pools from one spawn, and a pool's members are forks of its first that are reparented
// away once it takes a container, so neither parent pid nor process group says whose they are:
// a marker in this process's environment, set when this helper is imported (before any Berth
// starts one), is inherited by every one of them and names this test process.
import { readFileSync, readdirSync } from 'node:fs';
import { cmdline } from './proc-info.js';

process.env.BERTH_TEST_STANDBY_OWNER = String(process.pid);
const MARK = `BERTH_TEST_STANDBY_OWNER=${process.pid}`;

function environ(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Pids of this process's standby monitors still waiting for a container (a taken one's command line is the container's). */
export function standbyPids(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)
    .filter((p) => cmdline(p).includes('\0monitor\0--standby\0') && environ(p).includes(MARK));
}
