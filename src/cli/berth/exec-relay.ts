// `berth exec -it` on a terminal: the detach keys (docker's default ctrl-p,ctrl-q or
// --detach-keys) must be seen in the typed bytes, so this CLI reads its terminal itself and
// relays it to the shim's piped stdin, the shim's piped output to its stdout and the terminal's
// size to the shim's size socket. On the sequence it returns 'detached' and the CLI exits 0:
// the process keeps running with its pty (the shim then drains its output to /dev/null,
// native/berth-shim.c copy_fd), as docker leaves a detached exec.
import type { ShimRun } from '../../engine/shim.js';
import { detachScanner } from './detach-keys.js';
import { setRawTerminal } from './raw-terminal.js';

const ENDING: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'];

/** The terminal's size to start the exec's pty with, when stdout is one. */
export function terminalSize(): { rows: number; cols: number } | undefined {
  const out = process.stdout;
  return out.isTTY && out.rows && out.columns ? { rows: out.rows, cols: out.columns } : undefined;
}

/** Relays the terminal to a piped exec until it exits (its status) or the keys detach. */
export async function relayTerminal(r: ShimRun, keys: number[], err: (s: string) => void): Promise<number | 'detached'> {
  const stdin = process.stdin;
  const out = process.stdout;
  r.stdout!.on('data', (d: Buffer) => out.write(d));
  r.stdin!.on('error', () => {}); // the process may be gone before it read its input (EPIPE)
  const scan = detachScanner(keys);
  let detach!: () => void;
  const detached = new Promise<'detached'>((res) => (detach = () => res('detached')));
  let gone = false;
  stdin.on('data', (d: Buffer) => {
    if (gone) return;
    const s = scan(d);
    if (s.forward.length) r.stdin!.write(s.forward);
    if (s.detach) {
      gone = true;
      detach();
    }
  });
  stdin.on('end', () => r.stdin!.end());
  if (stdin.isTTY) setRawTerminal(stdin); // as cfmakeraw, what the shim sets when it proxies the terminal
  // A signal that ends this CLI (kill, the terminal's hangup) must not leave the terminal raw:
  // node restores it itself only for SIGINT and SIGTERM. It is restored, then the CLI dies of the
  // signal as it would have (the process goes on, as a docker exec does when its CLI is killed).
  // Typed ctrl-c is a byte here, sent to the process.
  const die = (sig: NodeJS.Signals) => {
    for (const s of ENDING) process.off(s, die);
    try {
      if (stdin.isTTY) stdin.setRawMode(false);
    } catch {
      /* a hung-up terminal has no mode to restore */
    }
    process.kill(process.pid, sig);
  };
  for (const s of ENDING) process.on(s, die);
  stdin.resume();
  // the kernel's SIGWINCH on a size change becomes stdout's 'resize': the new size to the pty
  const resize = () => r.resize?.(out.rows, out.columns);
  if (out.isTTY) out.on('resize', resize);
  try {
    // closed: once all its output was read, not at its exit (the last output could be lost)
    const res = await Promise.race([r.closed, detached]);
    if (res === 'detached') {
      err('\r\n');
      r.stdout!.destroy();
      r.stdin!.end();
    }
    return res;
  } finally {
    for (const s of ENDING) process.off(s, die);
    out.off('resize', resize);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdin.destroy();
  }
}
