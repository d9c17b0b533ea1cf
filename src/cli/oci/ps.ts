// `berth-oci ps` table: like runc, `ps -ef` filtered to the container's pids; without a ps
// binary, a minimal table from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function psTable(pids: number[]): string {
  const want = new Set(pids);
  try {
    const out = execFileSync('ps', ['-ef'], { encoding: 'utf8' });
    const lines = out.split('\n');
    const header = lines[0] ?? '';
    const pidCol = header.split(/\s+/).indexOf('PID');
    const rows = lines.slice(1).filter((l) => want.has(Number(l.trim().split(/\s+/)[pidCol])));
    return [header, ...rows].join('\n') + '\n';
  } catch {
    const rows = ['PID CMD'];
    for (const pid of pids) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue;
      }
      rows.push(`${pid} ${cmd}`);
    }
    return rows.join('\n') + '\n';
  }
}
