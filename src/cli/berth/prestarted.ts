// A node process started ahead by bin/berth's listener (native/berth-prestart.c): the bundle is
// loaded; it waits on a descriptor for one command, takes on the caller's environment, working
// directory and umask, and runs it as the caller's own node would have (the listener has checked
// that this process is in the caller's situation: user, namespaces, cgroup, limits...). It takes
// only commands that repeat and whose I/O is plain output (no stdin, no terminal of their own),
// and declines (then exits, unused) anything else, which the caller then runs itself.
import { readSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { parseArgs, type FlagDef } from './flags.js';
import { err as stderr, mergeErrIntoOut } from '../stdio.js';

/** A terminal's size, when the caller's stdout or stderr is one. */
export interface TermSize {
  rows: number;
  cols: number;
}

/** What the listener hands over: the caller's command and situation. */
export interface HandedOver {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  umask: number;
  stdout?: TermSize;
  stderr?: TermSize;
  /** The caller's stdout and stderr are one file (2>&1, a terminal). */
  merged: boolean;
}

function termSize(s: string, what: string): TermSize | undefined {
  if (s === '0') return undefined;
  const m = /^(\d{1,5}) (\d{1,5})$/.exec(s);
  if (!m) throw new Error(`bad ${what} terminal size "${s}"`);
  return { rows: Number(m[1]), cols: Number(m[2]) };
}

/**
 * Parses a request: NUL-terminated strings "2", cwd, umask (octal), stdout's and stderr's
 * terminal ("rows cols" or "0"), whether they are one file ("1" or "0"), argc, the arguments,
 * then the environment ("K=V").
 */
export function parseRequest(buf: Buffer): HandedOver {
  if (buf.length === 0 || buf[buf.length - 1] !== 0) throw new Error('request does not end with NUL');
  const s = buf.toString('utf8', 0, buf.length - 1).split('\0');
  const [version, cwd, umask, out, err, merged, argc] = s;
  if (version !== '2') throw new Error(`unknown request version "${version}"`);
  if (!cwd?.startsWith('/')) throw new Error('the working directory is not absolute');
  if (!/^[0-7]{1,4}$/.test(umask ?? '')) throw new Error(`bad umask "${umask}"`);
  if (merged !== '0' && merged !== '1') throw new Error(`bad merged flag "${merged}"`);
  const n = Number(argc);
  if (!/^\d{1,7}$/.test(argc ?? '') || 7 + n > s.length) throw new Error(`bad argument count "${argc}"`);
  const env: Record<string, string> = {};
  for (const kv of s.slice(7 + n)) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { argv: s.slice(7, 7 + n), env, cwd, umask: parseInt(umask!, 8), stdout: termSize(out!, 'stdout'), stderr: termSize(err!, 'stderr'), merged: merged === '1' };
}

// What node (and the C library, the dynamic loader, OpenSSL) reads of the environment when it
// starts: options, module paths, the libuv pool, ICU's locale, preloaded libraries, malloc's and
// glibc's tunables, OpenSSL's configuration. A caller that differs there gets a node of its own.
const STARTUP_ENV = /^(NODE_|UV_|LC_|LD_|MALLOC_|OPENSSL_)|^(LANG|LANGUAGE|GLIBC_TUNABLES)$/;

/** The names whose values differ between a and b among those node reads at start-up. */
export function startupEnvDiffers(a: Record<string, string | undefined>, b: Record<string, string | undefined>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => STARTUP_ENV.test(k)));
  return [...keys].filter((k) => a[k] !== b[k]);
}

// Paths that may name this process's own descriptors, terminal or /proc entry, which are not the
// caller's here: anything under /dev or /proc, however spelled (//, /./, relative). A link
// elsewhere to them is not caught: it would read this process's stdin, /dev/null.
const OWN_PATHS = /(^|\/)(dev|proc)\/|\/(dev|proc)$/;
const GLOBAL_WITH_VALUE = new Set(['--root', '--state-root']);
const GLOBAL_BOOL = new Set(['-D', '--debug']);
// the verbs that repeat, whose I/O is plain output once their flags are known (see handedOver)
const VERBS = new Set(['run', 'exec', 'start', 'create', 'stop', 'kill', 'rm', 'restart', 'pause', 'unpause', 'rename', 'logs', 'ps', 'inspect']);

/** Where the global flags end (-1: one this process does not take: --help, --version, unknown). */
function globalsEnd(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const a = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) i += 2;
    else if (GLOBAL_BOOL.has(a) || [...GLOBAL_WITH_VALUE].some((g) => a.startsWith(`${g}=`))) i++;
    else return -1;
  }
  return i;
}

/**
 * Whether argv may run in a handed-over process: a verb above with flags that parse; `run`,
 * `exec` and `start` neither interactive nor with a terminal (unless detached); no --help; no
 * path naming this process's own descriptors. `commands`: the verbs' table.
 */
export function handedOver(argv: readonly string[], commands: Record<string, { flags: FlagDef[]; interspersed?: boolean }>): boolean {
  if (argv.some((a) => OWN_PATHS.test(a))) return false;
  let i = globalsEnd(argv);
  if (i < 0) return false;
  if (argv[i] === 'container') i++;
  const verb = argv[i];
  const cmd = verb !== undefined && VERBS.has(verb) ? commands[verb] : undefined;
  if (!cmd || i >= argv.length) return false;
  let flags;
  try {
    flags = parseArgs(argv.slice(i + 1), [...cmd.flags, { name: 'help', kind: 'bool', help: '' }], cmd.interspersed ?? true).flags;
  } catch {
    return false; // the usage error is the caller's own node's to print
  }
  if (flags.help) return false;
  // no stdin (this process's is /dev/null) and no terminal of its own (it has none)
  if (verb === 'run') return flags.detach === true || (!flags.interactive && !flags.tty && !((flags.attach as string[] | undefined) ?? []).some((s) => /^stdin$/i.test(s)));
  if (verb === 'exec') return !flags.interactive && !flags.tty;
  if (verb === 'start') return !flags.interactive;
  return true;
}

function readExactly(fd: number, n: number): Buffer | undefined {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let got: number;
    try {
      got = readSync(fd, buf, off, n - off, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') continue;
      return undefined;
    }
    if (got === 0) return undefined;
    off += got;
  }
  return buf;
}

// The caller's stdout or stderr is a terminal: this process's is a pipe to the listener, which
// copies to it; output that depends on it (pull progress) asks the stream.
function pretendTerminal(name: 'stdout' | 'stderr', size: TermSize): void {
  const d = Object.getOwnPropertyDescriptor(process, name);
  const get = d?.get;
  if (!get || !d.configurable) return;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable ?? true,
    get() {
      const s = get.call(process) as NodeJS.WriteStream;
      if (!s.isTTY) Object.assign(s, { isTTY: true, rows: size.rows, columns: size.cols });
      return s;
    },
  });
}

/**
 * Ends this process the moment the caller ends (killed, say), as the caller's own node would have
 * ended: `fd` is a pipe whose write end only the caller holds (native/berth-prestart.c), so its
 * end is the caller's, whatever the listener is busy with.
 */
function followCaller(fd: number): void {
  const life = new Socket({ fd, readable: true, writable: false });
  const die = () => process.kill(process.pid, 'SIGKILL');
  life.on('end', die);
  life.on('error', die);
  life.resume(); // nothing is written: read only to see the end
  life.unref();
}

/**
 * bin/berth-node.cjs in a prestarted process: tells the listener (on fd) that it is ready, waits
 * for a command and returns its arguments once it is this process's, or exits (status 0) when it
 * declines one or the listener goes. `entry`: bin/berth-node.cjs, for process.argv.
 */
export async function awaitPrestartedCommand(fd: number, entry: string): Promise<string[]> {
  const own = { ...process.env };
  delete own.BERTH_PRESTARTED;
  // what every handed-over command loads, loaded while nobody waits: the verbs' table, with the
  // engine (its modules read no environment at load: netlink.ts helperPath)
  const { COMMANDS } = await import('./verbs.js');
  // and what they load on first use: node's modules (spawning the monitor, ids, the host's
  // name), the SQLite addon
  await Promise.all([import('node:child_process'), import('node:os'), import('node:crypto')]);
  (await import('../../engine/store/db.js')).loadDriver();
  writeSync(fd, 'R');
  const head = readExactly(fd, 4);
  const body = head && readExactly(fd, head.readUInt32LE(0));
  if (!body) process.exit(0);
  const decline = (): never => {
    writeSync(fd, 'D');
    process.exit(0);
  };
  let req: HandedOver;
  try {
    req = parseRequest(body);
  } catch {
    return decline();
  }
  if (startupEnvDiffers(own, req.env).length) return decline();
  try {
    process.chdir(req.cwd);
  } catch {
    return decline();
  }
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.umask(req.umask);
  process.argv = [process.execPath, entry, ...req.argv];
  if (!handedOver(req.argv, COMMANDS)) return decline();
  if (req.stdout) pretendTerminal('stdout', req.stdout);
  if (req.stderr) pretendTerminal('stderr', req.stderr);
  if (req.merged) mergeErrIntoOut();
  writeSync(fd, 'A');
  // 'G': the caller now follows this process (until then it may still run the command itself)
  const go = readExactly(fd, 1);
  if (go?.toString() !== 'G') process.exit(0);
  followCaller(fd + 1);
  if (req.argv.slice(0, globalsEnd(req.argv)).some((a) => GLOBAL_BOOL.has(a))) {
    stderr(`berth: debug: handed over to a prestarted node (pid ${process.pid})\n`);
  }
  return req.argv;
}

/**
 * bin/berth-node.cjs in a prestarted process, its command done and its output written: the
 * status goes to the listener now, and the caller ends without waiting for node's own exit
 * (~10 ms here).
 */
export function reportPrestartedExit(fd: number, code: number): void {
  const b = Buffer.alloc(5);
  b.write('X');
  b.writeInt32LE(code, 1);
  try {
    writeSync(fd, b);
  } catch {
    /* the listener has gone: the caller learns it from its socket */
  }
}
