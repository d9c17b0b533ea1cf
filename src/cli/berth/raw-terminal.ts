// The CLI's terminal in raw mode while it relays a container's (attach, run/start -a -it, exec -it).
import { spawnSync } from 'node:child_process';
import type { ReadStream } from 'node:tty';

/**
 * Raw as cfmakeraw (what docker's CLI and the shim set): node's raw mode keeps output processing
 * (ONLCR), so the container pty's \r\n reached the screen as \r\r\n and a full-screen program's
 * bare \n (cursor down) as a carriage return too. setRawMode(false) restores all of it.
 */
export function setRawTerminal(stdin: ReadStream): void {
  stdin.setRawMode(true);
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}
