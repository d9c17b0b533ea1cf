// `berth` commands: docker's verbs, flags, output and exit codes over the engine.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ROOT } from '../../engine/paths.js';
import type { Engine } from '../../engine/engine.js';
import { EngineError, isEngineError } from '../../engine/errors.js';
import { inspectVolume, psRow, PS_HEADERS } from '../../engine/inspect.js';
import { dropPrestartedMonitor, prestartMonitor, type AttachClient } from '../../engine/monitor.js';
import { usesPreparedNetns } from '../../engine/standby-netns.js';
import type { CreateOptions } from '../../engine/options.js';
import { parseEnvFile, parseKeyValues } from '../../engine/units.js';
import { bytesSize, humanSize, listOutput, quietLines, tabulate, template, TemplateError } from './format.js';
import { inspectFormatRefused, printInspect as printInspectOutput } from './inspect-output.js';
import { checkInspectType, inspectAny } from './inspect-objects.js';
import { addInspectSizes, psSizes, wantsSize } from './ps-size.js';
import { eventsFilter } from './events-filter.js';
import { VOLUME_HEADERS, volumeRow } from './volume-row.js';
import { bool, filterFlags as filters, list, str, UsageError, type FlagDef, type Flags } from './flags.js';
import { checkCreateFlags } from './create-flag-checks.js';
import { IMAGE_VERBS } from './image-commands.js';
import { NETWORK_RUN_FLAGS, NETWORK_VERBS, networkRunOptions } from './network-commands.js';
import { holdsByValue } from './run-reconcile.js';
import { noteNetwork } from './hot-command.js';
import { BLKIO_HEALTH_FLAGS, blkioHealthOptions } from './resource-health-flags.js';
import { blkioUpdateOptions, checkUpdateValues, UPDATE_BLKIO_FLAGS } from './update-flags.js';
import { healthOf } from '../../engine/health.js';
import { HEALTH_VERBS } from './health-commands.js';
import { SYSTEM_EXTRA, SYSTEM_VERBS } from './system-commands.js';
import { COPY_VERBS } from './copy-commands.js';
import { VERSION_COMMAND } from './version-command.js';
import { EXEC_COMMAND } from './exec-command.js';
import { LogsOutput } from './logs-output.js';
import { detachKeys, detachScanner } from './detach-keys.js';
import { setRawTerminal } from './raw-terminal.js';
import { attachOrStatus } from './start-attach.js';

export interface Ctx {
  engine(): Engine;
  out(s: string): void;
  err(s: string): void;
  version: string;
  /** --root or BERTH_ROOT as given (undefined: the default root). */
  root?: string;
}

export interface Command {
  usage: string;
  summary: string;
  flags: FlagDef[];
  /** Flags may follow positional arguments (false: run/exec, whose command has its own). */
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
  /** Errors of this command exit with 125 (run, create) instead of 1. */
  daemonErrorCode?: number;
  /**
   * The command looks only at the containers it names or makes (run, create, exec): the store
   * opens without reconciling every live container (O(1) in their number, like the library);
   * the containers it touches are refreshed on lookup.
   */
  lazyReconcile?: boolean;
  run(ctx: Ctx, f: Flags, args: string[]): Promise<number>;
}

/** The exit code of a failed container start, as docker's. */
export function startFailureCode(e: unknown): number {
  if (isEngineError(e, 'commandnotfound')) return 127;
  if (isEngineError(e, 'notexecutable')) return 126;
  return 125;
}

// ---------------------------------------------------------------- run / create

const CREATE_FLAGS: FlagDef[] = ([
  { name: 'attach', short: 'a', kind: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'cap-add', kind: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', kind: 'list', help: 'Drop Linux capabilities' },
  { name: 'cpu-shares', short: 'c', kind: 'int', help: 'CPU shares (relative weight)' },
  { name: 'cpus', kind: 'string', value: 'decimal', help: 'Number of CPUs' },
  { name: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'device', kind: 'list', help: 'Add a host device to the container' },
  { name: 'domainname', kind: 'string', help: 'Container NIS domain name' },
  { name: 'entrypoint', kind: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'env', short: 'e', kind: 'list', help: 'Set environment variables' },
  { name: 'env-file', kind: 'list', help: 'Read in a file of environment variables' },
  { name: 'hostname', short: 'h', kind: 'string', help: 'Container host name' },
  { name: 'init', kind: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'label', short: 'l', kind: 'list', help: 'Set meta data on a container' },
  { name: 'label-file', kind: 'list', help: 'Read in a line delimited file of labels' },
  { name: 'log-driver', kind: 'string', help: 'Logging driver for the container (json-file, cri, none)' },
  { name: 'log-opt', kind: 'list', help: 'Log driver options (max-size, max-file)' },
  { name: 'memory', short: 'm', kind: 'string', value: 'bytes', help: 'Memory limit' },
  { name: 'memory-swap', kind: 'string', value: 'bytes', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: 'mount', kind: 'list', value: 'mount', help: 'Attach a filesystem mount to the container' },
  { name: 'name', kind: 'string', help: 'Assign a name to the container' },
  { name: 'network', kind: 'string', help: 'Connect a container to a network (bridge, none, host, NAME, container:NAME, a netns path)', default: '"bridge"' },
  ...NETWORK_RUN_FLAGS,
  { name: 'net', kind: 'string', help: 'Alias of --network' },
  { name: 'pids-limit', kind: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'privileged', kind: 'bool', help: 'Give extended privileges to this container' },
  { name: 'read-only', kind: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'restart', kind: 'string', help: 'Restart policy to apply when a container exits', default: '"no"' },
  { name: 'rm', kind: 'bool', help: 'Automatically remove the container when it exits' },
  { name: 'rootfs', kind: 'string', value: 'DIR', help: 'Run a root filesystem directory in place instead of an image (then no IMAGE argument)' },
  { name: 'security-opt', kind: 'list', help: 'Security Options (seccomp=PROFILE|unconfined, no-new-privileges)' },
  { name: 'stop-signal', kind: 'string', help: 'Signal to stop the container' },
  { name: 'storage-opt', kind: 'list', help: 'Storage driver options for the container (size=SIZE)' },
  { name: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
  { name: 'pull', kind: 'string', help: 'Pull image before running ("always", "missing", "never")', default: '"missing"' },
  { name: 'stop-timeout', kind: 'int', help: 'Timeout (in seconds) to stop a container' },
  { name: 'sysctl', kind: 'list', value: 'map', help: 'Sysctl options' },
  { name: 'tmpfs', kind: 'list', help: 'Mount a tmpfs directory' },
  { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'ulimit', kind: 'list', value: 'ulimit', help: 'Ulimit options' },
  { name: 'user', short: 'u', kind: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'userns', kind: 'string', help: 'User namespace to use (host, auto, auto:size=N)', default: '"host"' },
  { name: 'uidmap', kind: 'list', help: 'UID map for the user namespace (CONTAINER:HOST:SIZE)' },
  { name: 'gidmap', kind: 'list', help: 'GID map for the user namespace (CONTAINER:HOST:SIZE)' },
  { name: 'volume', short: 'v', kind: 'list', help: 'Bind mount a volume' },
  { name: 'workdir', short: 'w', kind: 'string', help: 'Working directory inside the container' },
  ...BLKIO_HEALTH_FLAGS,
] satisfies FlagDef[] as FlagDef[]).sort((a, b) => (a.name < b.name ? -1 : 1));

const RUN_FLAGS: FlagDef[] = ([
  ...CREATE_FLAGS,
  { name: 'detach', short: 'd', kind: 'bool', help: 'Run container in background and print container ID' },
  { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container', default: '"ctrl-p,ctrl-q"' },
  { name: 'sig-proxy', kind: 'bool', help: 'Proxy received signals to the process', default: 'true' },
] as FlagDef[]).sort((a, b) => (a.name < b.name ? -1 : 1));

function createOptions(f: Flags, args: string[]): CreateOptions {
  const rootfs = str(f, 'rootfs');
  if (!rootfs && !args.length) throw new UsageError('requires at least 1 argument (an IMAGE, or --rootfs DIR)');
  const [first, ...cmd] = rootfs ? [rootfs, ...args] : args;
  checkCreateFlags(f); // docker CLI's own refusals (create-flag-checks.ts)
  const env: string[] = [];
  for (const file of list(f, 'env-file')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new EngineError('invalid', `open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    env.push(...parseEnvFile(text));
  }
  env.push(...list(f, 'env'));
  const labels: Record<string, string> = {};
  for (const file of list(f, 'label-file')) {
    const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    Object.assign(labels, parseKeyValues(lines, 'label'));
  }
  Object.assign(labels, parseKeyValues(list(f, 'label'), 'label'));
  const network = str(f, 'network') ?? str(f, 'net');
  noteNetwork(network); // which warm code cache this run may write (hot-command.ts)
  const logOpts = parseKeyValues(list(f, 'log-opt'), 'log-opt');
  const o: CreateOptions = {
    ...(rootfs ? { rootfs } : { image: first! }),
    cmd,
    env,
    labels,
    ...(str(f, 'entrypoint') !== undefined ? { entrypoint: str(f, 'entrypoint')! } : {}),
    ...(str(f, 'name') !== undefined ? { name: str(f, 'name')! } : {}),
    ...(str(f, 'workdir') !== undefined ? { workdir: str(f, 'workdir')! } : {}),
    ...(str(f, 'user') !== undefined ? { user: str(f, 'user')! } : {}),
    ...(str(f, 'hostname') !== undefined ? { hostname: str(f, 'hostname')! } : {}),
    ...(str(f, 'domainname') !== undefined ? { domainname: str(f, 'domainname')! } : {}),
    tty: bool(f, 'tty'),
    interactive: bool(f, 'interactive'),
    stdinOnce: bool(f, 'interactive') && !bool(f, 'detach'),
    volumes: list(f, 'volume'),
    mounts: list(f, 'mount'),
    tmpfs: list(f, 'tmpfs'),
    readOnly: bool(f, 'read-only'),
    init: bool(f, 'init'),
    ...(str(f, 'restart') !== undefined ? { restart: str(f, 'restart')! } : {}),
    autoRemove: bool(f, 'rm'),
    ...(network !== undefined ? { network } : {}),
    ...networkRunOptions(f),
    ...(str(f, 'memory') !== undefined ? { memory: str(f, 'memory')! } : {}),
    ...(str(f, 'memory-swap') !== undefined ? { memorySwap: str(f, 'memory-swap')! } : {}),
    ...(str(f, 'cpus') !== undefined ? { cpus: str(f, 'cpus')! } : {}),
    ...(f['cpu-shares'] !== undefined ? { cpuShares: f['cpu-shares'] as number } : {}),
    ...(str(f, 'cpuset-cpus') !== undefined ? { cpusetCpus: str(f, 'cpuset-cpus')! } : {}),
    ...(f['pids-limit'] !== undefined ? { pidsLimit: f['pids-limit'] as number } : {}),
    devices: list(f, 'device'),
    capAdd: list(f, 'cap-add'),
    capDrop: list(f, 'cap-drop'),
    privileged: bool(f, 'privileged'),
    securityOpt: list(f, 'security-opt'),
    ...(str(f, 'userns') !== undefined ? { userns: str(f, 'userns')! } : {}),
    uidmap: list(f, 'uidmap'),
    gidmap: list(f, 'gidmap'),
    ulimits: list(f, 'ulimit'),
    sysctls: list(f, 'sysctl'),
    ...(str(f, 'stop-signal') !== undefined ? { stopSignal: str(f, 'stop-signal')! } : {}),
    ...(f['stop-timeout'] !== undefined ? { stopTimeout: f['stop-timeout'] as number } : {}),
    ...(str(f, 'log-driver') !== undefined ? { logDriver: str(f, 'log-driver') as 'json-file' } : {}),
    logOpts,
    storageOpt: list(f, 'storage-opt'),
    ...(str(f, 'pull') !== undefined ? { pull: str(f, 'pull') as 'missing' } : {}),
    ...(str(f, 'platform') !== undefined ? { platform: str(f, 'platform')! } : {}),
    ...blkioHealthOptions(f),
  };
  if (o.pull && !['missing', 'never', 'always'].includes(o.pull)) throw new UsageError(`invalid pull option: '${o.pull}': must be one of "always", "missing" or "never"`);
  return o;
}

/** Pumps an attach connection to this process's stdio until the container exits. */
async function pump(ctx: Ctx, engine: Engine, id: string, a: AttachClient, o: { stdin: boolean; tty: boolean; sigProxy: boolean; detachKeys: number[] }): Promise<number | 'detached'> {
  a.ref();
  a.on('stdout', (d: Buffer) => process.stdout.write(d));
  a.on('stderr', (d: Buffer) => process.stderr.write(d));
  // process.stdin is a stream made on first use (~3 ms of a CLI start): only when it is read
  const stdin = (o.stdin || o.tty ? process.stdin : undefined)!;
  let raw = false;
  const cleanups: (() => void)[] = [];
  let detached = false;
  const done = new Promise<number | 'detached'>((resolve) => {
    a.once('exit', (code: number) => resolve(code));
    a.once('close', () => resolve(detached ? 'detached' : a.exitStatus ?? -1));
  });
  if (o.tty && stdin.isTTY && process.stdout.isTTY) {
    const resize = () => a.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
    resize();
    process.stdout.on('resize', resize);
    cleanups.push(() => process.stdout.off('resize', resize));
  }
  if (o.stdin) {
    if (o.tty && stdin.isTTY) {
      setRawTerminal(stdin); // raw-terminal.ts
      raw = true;
    }
    // a sequence of any length, split over any chunks (detach-keys.ts)
    const scan = o.tty ? detachScanner(o.detachKeys) : undefined;
    stdin.on('data', (d: Buffer) => {
      if (detached) return;
      const r = scan ? scan(d) : { forward: d, detach: false };
      if (r.forward.length) a.write(r.forward);
      if (r.detach) {
        detached = true;
        a.close();
      }
    });
    stdin.on('end', () => a.endStdin());
    stdin.resume();
  }
  if (o.sigProxy && !o.tty) {
    const fwd = (sig: NodeJS.Signals) => void engine.kill(id, sig).catch(() => {});
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as NodeJS.Signals[]) {
      process.on(s, fwd);
      cleanups.push(() => process.off(s, fwd));
    }
  }
  const r = await done;
  for (const c of cleanups) c();
  if (raw) stdin.setRawMode(false);
  if (o.stdin) {
    stdin.pause();
    stdin.destroy();
  }
  a.close();
  if (r === 'detached') ctx.err('\r\n');
  return r;
}

async function runOrCreate(ctx: Ctx, f: Flags, args: string[], mode: 'run' | 'create'): Promise<number> {
  const opts = createOptions(f, args);
  if (mode === 'run') prestartMonitor(usesPreparedNetns(opts)); // its start overlaps the store's opening and the create (monitor.ts)
  try {
    return await createAndRun(ctx, f, opts, mode);
  } finally {
    dropPrestartedMonitor(); // no start took it (a failed create)
  }
}

async function createAndRun(ctx: Ctx, f: Flags, opts: CreateOptions, mode: 'run' | 'create'): Promise<number> {
  const engine = ctx.engine();
  // what a container holds by value (a host port, --ip, --mac-address) and a dead one may still
  // hold: freed first by the reconcile every other command does (lazyReconcile)
  if (holdsByValue(opts)) engine.reconcile();
  const rec = await engine.create(opts);
  if (mode === 'create') {
    ctx.out(rec.id + '\n');
    return 0;
  }
  const keys = detachKeys(str(f, 'detach-keys'));
  const detach = bool(f, 'detach');
  let started;
  try {
    started = await engine.start(rec.id, { attach: !detach });
  } catch (e) {
    if (opts.autoRemove) await engine.remove(rec.id, { force: true, volumes: true }).catch(() => {});
    throw e;
  }
  if (detach) {
    ctx.out(rec.id + '\n');
    return 0;
  }
  const r = await pump(ctx, engine, rec.id, started.attach!, { stdin: !!opts.interactive, tty: !!opts.tty, sigProxy: f['sig-proxy'] !== false, detachKeys: keys });
  if (r === 'detached') return 0;
  const code = await engine.wait(rec.id).catch(() => r);
  return typeof r === 'number' && r >= 0 ? r : code;
}

// ---------------------------------------------------------------- helpers for many-container verbs

async function each(ctx: Ctx, ids: string[], fn: (id: string) => Promise<string | void>): Promise<number> {
  let status = 0;
  for (const id of ids) {
    try {
      const r = await fn(id);
      if (r !== undefined) ctx.out(r + '\n');
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      ctx.err(`Error: ${e.message}\n`);
      status = 1;
    }
  }
  return status;
}

const FORMAT_FLAG: FlagDef = { name: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json', 'table', 'table TEMPLATE' or a Go template" };

/** stop and restart take the same flags. */
const STOP_FLAGS: FlagDef[] = [
  { name: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' },
  { name: 'timeout', short: 't', kind: 'int', help: 'Seconds to wait before killing the container' },
  { name: 'time', kind: 'int', help: '', hidden: true }, // docker 28: deprecated for --timeout
];

function stopOptions(f: Flags): { timeout?: number; signal?: string } {
  if (f.time !== undefined) process.stderr.write('Flag --time has been deprecated, use --timeout instead\n'); // pflag's notice
  const timeout = f.timeout ?? f.time;
  return { ...(timeout !== undefined ? { timeout: timeout as number } : {}), ...(str(f, 'signal') ? { signal: str(f, 'signal')! } : {}) };
}

// ---------------------------------------------------------------- the commands

export const COMMANDS: Record<string, Command> = {
  run: {
    usage: 'run [OPTIONS] IMAGE|--rootfs DIR [COMMAND] [ARG...]',
    summary: 'Create and run a new container from an image (or a root filesystem directory with --rootfs)',
    flags: RUN_FLAGS,
    interspersed: false,
    daemonErrorCode: 125,
    lazyReconcile: true,
    run: (ctx, f, a) => runOrCreate(ctx, f, a, 'run'),
  },
  create: {
    usage: 'create [OPTIONS] IMAGE|--rootfs DIR [COMMAND] [ARG...]',
    summary: 'Create a new container',
    flags: CREATE_FLAGS,
    interspersed: false,
    daemonErrorCode: 125,
    lazyReconcile: true,
    run: (ctx, f, a) => runOrCreate(ctx, f, a, 'create'),
  },
  start: {
    usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Start one or more stopped containers',
    flags: [
      { name: 'attach', short: 'a', kind: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
      { name: 'interactive', short: 'i', kind: 'bool', help: "Attach container's STDIN" },
      { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
    ],
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      if (bool(f, 'attach') || bool(f, 'interactive')) {
        if (a.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
        const keys = detachKeys(str(f, 'detach-keys'));
        const rec = await engine.getSettled(a[0]!); // one only winding down is seen down (wind-down.ts)
        const seq = engine.store.lastEventSeq();
        const s = await engine.start(rec.id, { attach: true });
        // already running: attach to it, or its status if it ended meanwhile (start-attach.ts)
        const c = s.attach ?? (await attachOrStatus(engine, rec.id, seq));
        if (typeof c === 'number') return c;
        const r = await pump(ctx, engine, s.rec.id, c, { stdin: bool(f, 'interactive') && rec.config.OpenStdin, tty: rec.config.Tty, sigProxy: true, detachKeys: keys });
        if (r === 'detached') return 0;
        // until the monitor is gone and a --rm container removed, as docker's start -a
        const code = await engine.wait(s.rec.id).catch(() => r);
        return r >= 0 ? r : code;
      }
      return each(ctx, a, async (id) => {
        await engine.start(id);
        return id;
      });
    },
  },
  stop: {
    usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Stop one or more running containers',
    flags: STOP_FLAGS,
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      return each(ctx, a, async (id) => {
        await engine.stop(id, stopOptions(f));
        return id;
      });
    },
  },
  kill: {
    usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Kill one or more running containers',
    flags: [{ name: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container', default: '"KILL"' }],
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      return each(ctx, a, async (id) => {
        await engine.kill(id, str(f, 'signal') ?? 'SIGKILL');
        return id;
      });
    },
  },
  restart: {
    usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Restart one or more containers',
    flags: STOP_FLAGS,
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      return each(ctx, a, async (id) => {
        await engine.restart(id, stopOptions(f));
        return id;
      });
    },
  },
  rm: {
    usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Remove one or more containers',
    flags: [
      { name: 'force', short: 'f', kind: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
      { name: 'volumes', short: 'v', kind: 'bool', help: 'Remove anonymous volumes associated with the container' },
    ],
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      return each(ctx, a, async (id) => {
        try {
          await engine.remove(id, { force: bool(f, 'force'), volumes: bool(f, 'volumes') });
        } catch (e) {
          if (bool(f, 'force') && isEngineError(e, 'notfound')) return; // docker rm -f: a missing container is fine
          throw e;
        }
        return id;
      });
    },
  },
  ps: {
    usage: 'ps [OPTIONS]',
    summary: 'List containers',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
      { name: 'filter', kind: 'list', value: 'filter', help: 'Filter output based on conditions provided (id, name, label, status, exited)' },
      FORMAT_FLAG,
      { name: 'last', short: 'n', kind: 'int', help: 'Show n last created containers (includes all states)' },
      { name: 'latest', short: 'l', kind: 'bool', help: 'Show the latest created container (includes all states)' },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display container IDs' },
      { name: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      const engine = ctx.engine();
      const last = bool(f, 'latest') ? 1 : ((f.last as number | undefined) ?? -1);
      let recs = engine.list({ all: bool(f, 'all') || last > 0, filters: filters(f) });
      if (last > 0) recs = recs.slice(0, last);
      const noTrunc = bool(f, 'no-trunc');
      if (bool(f, 'quiet')) {
        ctx.out(quietLines(recs.map((r) => (noTrunc ? r.id : r.id.slice(0, 12)))));
        return 0;
      }
      const now = Date.now();
      const sizes = wantsSize(bool(f, 'size'), str(f, 'format')) ? await psSizes(engine, recs) : undefined; // ps-size.ts
      const mounts = /\.Mounts\b/.test(str(f, 'format') ?? ''); // anonymous volumes' names: one store query each, only when shown
      const rows = recs.map((r) => ({ ...psRow(r, noTrunc, now, healthOf(engine.store, r), mounts ? engine.store.containerVolumes(r.id) : undefined), ...(sizes ? { Size: sizes.get(r.id) } : {}) }));
      ctx.out(listOutput(rows, str(f, 'format'), `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${bool(f, 'size') ? '\t{{.Size}}' : ''}`, PS_HEADERS));
      return 0;
    },
  },
  logs: {
    usage: 'logs [OPTIONS] CONTAINER',
    summary: 'Fetch the logs of a container',
    flags: [
      { name: 'details', kind: 'bool', help: 'Show extra details provided to logs' },
      { name: 'follow', short: 'f', kind: 'bool', help: 'Follow log output' },
      { name: 'since', kind: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
      { name: 'tail', short: 'n', kind: 'string', help: 'Number of lines to show from the end of the logs', default: '"all"' },
      { name: 'timestamps', short: 't', kind: 'bool', help: 'Show timestamps' },
      { name: 'until', kind: 'string', help: 'Show logs before a timestamp or relative' },
    ],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      const tailS = str(f, 'tail') ?? 'all';
      if (tailS !== 'all' && !/^-?\d+$/.test(tailS)) throw new UsageError(`invalid value for "tail": ${tailS}`);
      const tail = tailS === 'all' || Number(tailS) < 0 ? undefined : Number(tailS);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const ts = bool(f, 'timestamps');
      const output = new LogsOutput(process.stdout, process.stderr); // batched, with backpressure
      try {
        for await (const e of engine.logs(a[0]!, { follow: bool(f, 'follow'), ...(tail !== undefined ? { tail } : {}), ...(str(f, 'since') ? { since: str(f, 'since')! } : {}), ...(str(f, 'until') ? { until: str(f, 'until')! } : {}), signal: ac.signal })) {
          await output.write(e.stream, ts ? `${e.time} ${e.line}` : e.line);
        }
        await output.flush();
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      return 0;
    },
  },
  exec: EXEC_COMMAND, // its own module (exec-command.ts)
  inspect: {
    usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
    summary: 'Return low-level information on containers, images, networks and volumes',
    flags: [FORMAT_FLAG, { name: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' }, { name: 'type', kind: 'string', help: 'Return JSON for specified type (container, image, network, volume)' }],
    minArgs: 1,
    async run(ctx, f, a) {
      const refused = inspectFormatRefused(ctx, str(f, 'format')); // before any lookup, as docker
      if (refused !== undefined) return refused;
      const type = str(f, 'type');
      checkInspectType(type);
      const engine = ctx.engine();
      const objs: unknown[] = [];
      const found: ReturnType<Engine['get']>[] = [];
      let status = 0;
      for (const ref of a) {
        try {
          const r = inspectAny(engine, ref, type); // inspect-objects.ts: container, image, network, volume, as docker
          if (r.container) found.push(r.container);
          objs.push(r.obj);
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          ctx.err(e.kind === 'notfound' ? `Error: No such object: ${ref}\n` : `Error: ${e.message}\n`);
          status = 1;
        }
      }
      if (bool(f, 'size') && found.length) await addInspectSizes(engine, objs, found); // ps-size.ts: SizeRw, SizeRootFs
      return printInspect(ctx, objs, str(f, 'format'), status);
    },
  },
  wait: {
    usage: 'wait CONTAINER [CONTAINER...]',
    summary: 'Block until one or more containers stop, then print their exit codes',
    flags: [],
    minArgs: 1,
    async run(ctx, _f, a) {
      const engine = ctx.engine();
      return each(ctx, a, async (id) => String(await engine.wait(id)));
    },
  },
  top: {
    usage: 'top CONTAINER [ps OPTIONS]',
    summary: 'Display the running processes of a container',
    flags: [],
    interspersed: false,
    minArgs: 1,
    async run(ctx, _f, a) {
      const t = ctx.engine().top(a[0]!, a.length > 1 ? a.slice(1) : ['-ef']);
      const rows = [t.Titles, ...t.Processes];
      ctx.out(tabulate(rows.map((r) => r.join('\t')), 20)); // docker's tabwriter(minwidth 20, padding 3)
      return 0;
    },
  },
  stats: {
    usage: 'stats [OPTIONS] [CONTAINER...]',
    summary: 'Display a live stream of container(s) resource usage statistics',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
      FORMAT_FLAG,
      { name: 'no-stream', kind: 'bool', help: 'Disable streaming stats and only pull the first result' },
      { name: 'no-trunc', kind: 'bool', help: "Do not truncate output" },
    ],
    async run(ctx, f, a) {
      const engine = ctx.engine();
      const ids = a.length ? a : engine.list({ all: bool(f, 'all') }).map((r) => r.id);
      const headers = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      for (;;) {
        const rows = [];
        for (const id of ids) {
          const s = await engine.stats(id);
          rows.push({
            ID: bool(f, 'no-trunc') ? s.id : s.id.slice(0, 12), Container: id, Name: s.name, CPUPerc: `${s.cpuPercent.toFixed(2)}%`,
            MemUsage: `${bytesSize(s.memUsage)} / ${bytesSize(s.memLimit)}`, MemPerc: `${s.memPercent.toFixed(2)}%`, NetIO: '0B / 0B',
            BlockIO: `${humanSize(s.blockRead)} / ${humanSize(s.blockWrite)}`, PIDs: String(s.pids),
          });
        }
        if (!bool(f, 'no-stream') && process.stdout.isTTY) ctx.out('\x1b[2J\x1b[H');
        ctx.out(listOutput(rows, str(f, 'format'), 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}', headers));
        if (bool(f, 'no-stream') || ac.signal.aborted) return 0;
      }
    },
  },
  pause: {
    usage: 'pause CONTAINER [CONTAINER...]',
    summary: 'Pause all processes within one or more containers',
    flags: [],
    minArgs: 1,
    run: async (ctx, _f, a) => each(ctx, a, async (id) => (ctx.engine().pause(id), id)),
  },
  unpause: {
    usage: 'unpause CONTAINER [CONTAINER...]',
    summary: 'Unpause all processes within one or more containers',
    flags: [],
    minArgs: 1,
    run: async (ctx, _f, a) => each(ctx, a, async (id) => (ctx.engine().unpause(id), id)),
  },
  rename: {
    usage: 'rename CONTAINER NEW_NAME',
    summary: 'Rename a container',
    flags: [],
    minArgs: 2,
    maxArgs: 2,
    run: async (ctx, _f, a) => each(ctx, [a[0]!], async (id) => void ctx.engine().rename(id, a[1]!)),
  },
  update: {
    usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Update configuration of one or more containers',
    flags: [
      { name: 'cpu-shares', short: 'c', kind: 'int', help: 'CPU shares (relative weight)' },
      { name: 'cpus', kind: 'string', value: 'decimal', help: 'Number of CPUs' },
      { name: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
      { name: 'memory', short: 'm', kind: 'string', value: 'bytes', help: 'Memory limit' },
      { name: 'memory-swap', kind: 'string', value: 'bytes', help: "Swap limit equal to memory plus swap: -1 to enable unlimited swap" },
      { name: 'pids-limit', kind: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
      { name: 'restart', kind: 'string', help: 'Restart policy to apply when a container exits' },
      ...UPDATE_BLKIO_FLAGS,
    ],
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      const u = {
        ...blkioUpdateOptions(f),
        ...(str(f, 'memory') !== undefined ? { memory: str(f, 'memory')! } : {}),
        ...(str(f, 'memory-swap') !== undefined ? { memorySwap: str(f, 'memory-swap')! } : {}),
        ...(str(f, 'cpus') !== undefined ? { cpus: str(f, 'cpus')! } : {}),
        ...(f['cpu-shares'] !== undefined ? { cpuShares: f['cpu-shares'] as number } : {}),
        ...(str(f, 'cpuset-cpus') !== undefined ? { cpusetCpus: str(f, 'cpuset-cpus')! } : {}),
        ...(f['pids-limit'] !== undefined ? { pidsLimit: f['pids-limit'] as number } : {}),
        ...(str(f, 'restart') !== undefined ? { restart: str(f, 'restart')! } : {}),
      };
      if (!Object.keys(u).length) throw new UsageError('you must provide one or more flags when using this command');
      checkUpdateValues(u);
      return each(ctx, a, async (id) => (engine.update(id, u), id));
    },
  },
  attach: {
    usage: 'attach [OPTIONS] CONTAINER',
    summary: "Attach local standard input, output, and error streams to a running container",
    flags: [
      { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
      { name: 'no-stdin', kind: 'bool', help: 'Do not attach STDIN' },
      { name: 'sig-proxy', kind: 'bool', help: 'Proxy all received signals to the process', default: 'true' },
    ],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      const keys = detachKeys(str(f, 'detach-keys')); // refused before the store opens or a connection is made
      const engine = ctx.engine();
      const rec = engine.get(a[0]!);
      const c = await engine.attach(a[0]!);
      const r = await pump(ctx, engine, rec.id, c, { stdin: !bool(f, 'no-stdin') && rec.config.OpenStdin, tty: rec.config.Tty, sigProxy: f['sig-proxy'] !== false, detachKeys: keys });
      if (r === 'detached') return 0;
      return r >= 0 ? r : await engine.wait(rec.id);
    },
  },
  events: {
    usage: 'events [OPTIONS]',
    summary: 'Get real time events from the engine',
    flags: [
      { name: 'filter', kind: 'list', value: 'filter', help: 'Filter output based on conditions provided (container, event, type)' },
      FORMAT_FLAG,
      { name: 'since', kind: 'string', help: 'Show all events created since timestamp' },
      { name: 'until', kind: 'string', help: 'Stream events until this timestamp' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      const engine = ctx.engine();
      const keep = eventsFilter(filters(f)); // events-filter.ts: docker's keys, checked before anything streams
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      const fmt = str(f, 'format');
      const t = fmt && fmt !== 'json' ? eventsTemplate(fmt) : undefined;
      for await (const e of engine.events({ ...(str(f, 'since') ? { since: str(f, 'since')! } : {}), ...(str(f, 'until') ? { until: str(f, 'until')! } : {}), signal: ac.signal })) {
        if (!keep(e)) continue;
        const time = Number(e.timeNano / 1_000_000_000n);
        const obj = { Type: e.type, Action: e.action, Actor: { ID: e.actorId, Attributes: e.attributes }, scope: 'local', time, timeNano: Number(e.timeNano), status: e.action, id: e.actorId, from: e.attributes.image };
        if (fmt === 'json') ctx.out(JSON.stringify(obj) + '\n');
        // a template sees docker's Go field names (events.Message): .ID .Status .From .Scope .Time .TimeNano
        else if (t) ctx.out(t({ ...obj, ID: obj.id, Status: obj.status, From: obj.from ?? '', Scope: obj.scope, Time: obj.time, TimeNano: obj.timeNano }) + '\n');
        else {
          const when = new Date(Number(e.timeNano / 1_000_000n)).toISOString().slice(0, 19) + '.' + (e.timeNano % 1_000_000_000n).toString().padStart(9, '0') + 'Z';
          const attrs = Object.entries(e.attributes).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(', ');
          ctx.out(`${when} ${e.type} ${e.action} ${e.actorId}${attrs ? ` (${attrs})` : ''}\n`);
        }
      }
      return 0;
    },
  },
  version: VERSION_COMMAND, // its own module: main.ts runs it without loading the others
  ...IMAGE_VERBS,
  ...HEALTH_VERBS,
  ...SYSTEM_VERBS,
  ...COPY_VERBS,
  ...NETWORK_VERBS,
};

/** docker's events: a format that does not parse is "Error parsing format: ...", exit 64. */
function eventsTemplate(fmt: string): (v: unknown) => string {
  try {
    return template(fmt);
  } catch (e) {
    if (e instanceof TemplateError) Object.assign(e, { exitCode: 64, prefix: 'Error parsing format' });
    throw e;
  }
}

// docker's inspect output and template errors (inspect-output.ts)
const printInspect = (ctx: Ctx, objs: unknown[], format: string | undefined, status: number): number => printInspectOutput(ctx, objs, format, status);

// ---------------------------------------------------------------- volume

export const VOLUME_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'volume create [OPTIONS] [VOLUME]',
    summary: 'Create a volume',
    flags: [
      { name: 'driver', short: 'd', kind: 'string', help: 'Specify volume driver name', default: '"local"' },
      { name: 'label', kind: 'list', help: 'Set metadata for a volume' },
      { name: 'name', kind: 'string', help: 'Specify volume name' },
      { name: 'opt', short: 'o', kind: 'list', value: 'map', help: 'Set driver specific options' },
    ],
    maxArgs: 1,
    async run(ctx, f, a) {
      if (a[0] && str(f, 'name') && a[0] !== str(f, 'name')) throw new UsageError(`conflicting options: either specify --name or provide positional arg, not both`);
      const name = a[0] ?? str(f, 'name');
      const v = ctx.engine().createVolume({ ...(name ? { name } : {}), labels: parseKeyValues(list(f, 'label'), 'label'), ...(str(f, 'driver') ? { driver: str(f, 'driver')! } : {}), options: parseKeyValues(list(f, 'opt'), 'opt') });
      ctx.out(v.name + '\n');
      return 0;
    },
  },
  ls: {
    usage: 'volume ls [OPTIONS]',
    summary: 'List volumes',
    flags: [
      { name: 'filter', short: 'f', kind: 'list', value: 'filter', help: "Provide filter values (e.g. 'dangling=true')" },
      { name: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'json' or a Go template" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display volume names' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      const vols = ctx.engine().listVolumes(filters(f));
      if (bool(f, 'quiet')) {
        ctx.out(quietLines(vols.map((v) => v.name)));
        return 0;
      }
      const rows = vols.map(volumeRow); // volume-row.ts: docker's fields, {{.Label "k"}}
      ctx.out(listOutput(rows, str(f, 'format'), 'table {{.Driver}}\t{{.Name}}', VOLUME_HEADERS));
      return 0;
    },
  },
  inspect: {
    usage: 'volume inspect [OPTIONS] VOLUME [VOLUME...]',
    summary: 'Display detailed information on one or more volumes',
    flags: [FORMAT_FLAG],
    minArgs: 1,
    async run(ctx, f, a) {
      const refused = inspectFormatRefused(ctx, str(f, 'format'));
      if (refused !== undefined) return refused;
      const objs: unknown[] = [];
      let status = 0;
      for (const n of a) {
        try {
          objs.push(inspectVolume(ctx.engine().volume(n)));
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          ctx.err(`Error: ${e.message}\n`);
          status = 1;
        }
      }
      return printInspect(ctx, objs, str(f, 'format'), status);
    },
  },
  rm: {
    usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
    summary: 'Remove one or more volumes',
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Force the removal of one or more volumes' }],
    minArgs: 1,
    run: async (ctx, f, a) => each(ctx, a, async (n) => (ctx.engine().removeVolume(n, { force: bool(f, 'force') }), n)),
  },
  prune: {
    usage: 'volume prune [OPTIONS]',
    summary: 'Remove unused local volumes',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
      { name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      if (!bool(f, 'force')) {
        if (!process.stdin.isTTY) throw new UsageError('refusing to prune without confirmation: use --force');
        ctx.out(`WARNING! This will remove ${bool(f, 'all') ? 'all local volumes not used by at least one container' : 'anonymous local volumes not used by at least one container'}.\nAre you sure you want to continue? [y/N] `);
        const answer = await new Promise<string>((res) => process.stdin.once('data', (d) => res(String(d).trim())));
        process.stdin.pause();
        if (!/^y(es)?$/i.test(answer)) return 0;
      }
      const r = ctx.engine().pruneVolumes({ all: bool(f, 'all') });
      if (r.removed.length) ctx.out(`Deleted Volumes:\n${r.removed.map((n) => n + '\n').join('')}\n`);
      ctx.out(`Total reclaimed space: ${humanSize(r.bytes)}\n`);
      return 0;
    },
  },
};

// ---------------------------------------------------------------- system

export const SYSTEM_COMMANDS: Record<string, Command> = {
  cleanup: {
    usage: 'system cleanup CONTAINER',
    summary: "Record a stopped container's exit and remove what it left (run by its monitor)",
    flags: [],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, _f, a) {
      // the root may be gone (rm -f then rm -rf of the root before this ran): never recreate its store
      if (!existsSync(join(ctx.root ?? DEFAULT_ROOT, 'berth.db'))) return 0;
      const engine = ctx.engine();
      const rec = engine.store.get(a[0]!);
      if (rec) engine.refresh(rec);
      // removed already, or --rm: no `rm` will forget what the monitor left running (remove-wait.ts): this does, once the rest is gone
      const id = rec?.id ?? (/^[0-9a-f]{64}$/.test(a[0]!) ? a[0]! : undefined); // the monitor passes the full id
      if (id && (!rec || rec.hostConfig.AutoRemove || !engine.store.get(id))) {
        await (await import('../../engine/remove-wait.js')).awaitLeftovers(engine.paths.stateDir(id), (m) => ctx.err(`WARNING: ${m}\n`), `cleaning up ${id.slice(0, 12)}`);
      }
      return 0;
    },
  },
  events: { ...COMMANDS.events!, usage: 'system events [OPTIONS]' },
  ...SYSTEM_EXTRA,
};
