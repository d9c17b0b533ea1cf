// The CLI's terminal in raw mode while it relays a container's (attach, run/start -a -it, exec -it).
import { spawnSync } from 'node:child_process';
import type { ReadStream } from 'node:tty';

let warned = false;

/**
 * Raw as cfmakeraw (what docker's CLI and the shim set): node's raw mode keeps output processing
 * (ONLCR), so the container pty's \r\n reached the screen as \r\r\n and a full-screen program's
 * bare \n (cursor down) as a carriage return too. setRawMode(false) restores all of it, and so
 * does node itself at any exit (it resets the terminal to its state at startup, on a signal too).
 * If stty fails the terminal is raw but still processes output: said once (the relay goes on).
 * Returns whether the whole mode was set.
 */
export function setRawTerminal(stdin: Pick<ReadStream, 'setRawMode'>, warn: (m: string) => void = (m) => void process.stderr.write(m)): boolean {
  stdin.setRawMode(true);
  const r = spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return true;
  if (!warned) {
    warned = true;
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() || (r.status === null ? `killed by ${r.signal}` : `exit status ${r.status}`));
    warn(`berth: could not turn off the terminal's output processing (stty -opost: ${why}); the container's output may show extra carriage returns\n`);
  }
  return false;
}
