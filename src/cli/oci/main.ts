// `berth-oci`: a runc-compatible OCI runtime CLI. Commands import what they need lazily, so a
// container start loads only the runtime path.
import { appendFileSync, readFileSync } from 'node:fs';
import { parseFlags, UsageError, usageOf, type FlagSet, type ParsedFlags } from './args.js';
import { CGROUP_COMMANDS } from './cgroup-commands.js';
import { err, out } from '../stdio.js'; // write(2): no stream built for a short command

const VERSION = '0.1.0';

const GLOBAL: FlagSet = {
  root: { type: 'string', help: 'root directory for storage of container state (tmpfs recommended)', default: '/run/berth-oci' },
  log: { type: 'string', help: 'set the log file to write runtime logs to (default is stderr)' },
  'log-format': { type: 'string', help: 'set the log format: text or json', default: 'text' },
  debug: { type: 'bool', help: 'enable debug logging' },
  'systemd-cgroup': { type: 'bool', help: 'use the systemd cgroup driver (needs systemd)' },
  rootless: { type: 'string', help: 'ignore cgroup permission errors: true, false or auto', default: 'auto' },
  criu: { type: 'string', help: 'path to the criu binary (checkpointing is not available yet)' },
  help: { type: 'bool', alias: 'h', help: 'show help' },
  version: { type: 'bool', alias: 'v', help: 'print the version' },
};

const CREATE_FLAGS: FlagSet = {
  bundle: { type: 'string', alias: 'b', help: 'path to the root of the bundle directory', default: 'current directory' },
  'console-socket': { type: 'string', help: 'path to an AF_UNIX socket which will receive the pty master' },
  'pid-file': { type: 'string', help: 'file to write the process id to' },
  'no-pivot': { type: 'bool', help: 'do not use pivot_root to jail the process inside the rootfs' },
  'no-new-keyring': { type: 'bool', help: 'do not create a new session keyring for the container' },
  'preserve-fds': { type: 'int', help: 'pass N additional file descriptors to the container (after stdio)', default: '0' },
};

interface Command {
  summary: string;
  usage: string;
  flags: FlagSet;
  run(ctx: Ctx, flags: ParsedFlags, args: string[]): Promise<number>;
}

interface Ctx {
  global: ParsedFlags;
  log: Logger;
}

class Logger {
  constructor(private path: string | undefined, private json: boolean, private debugOn: boolean) {}
  private emit(level: string, msg: string) {
    if (this.path) {
      const line = this.json
        ? JSON.stringify({ level, msg, time: new Date().toISOString() })
        : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}`;
      try {
        appendFileSync(this.path, line + '\n');
      } catch {
        /* the log is best effort; stderr still gets errors */
      }
    }
  }
  error(msg: string) {
    this.emit('error', msg);
    err(`berth-oci: ${msg}\n`);
  }
  warn(msg: string) {
    this.emit('warning', msg);
    if (!this.path) err(`berth-oci: warning: ${msg}\n`);
  }
  debug(msg: string) {
    if (!this.debugOn) return;
    this.emit('debug', msg);
    if (!this.path) err(`berth-oci: debug: ${msg}\n`);
  }
}

function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`${what} requires ${n === 1 ? 'an argument' : `${n} arguments`}`);
}

async function runtime(ctx: Ctx) {
  const { Runtime } = await import('../../runtime/runtime.js');
  return new Runtime({
    root: (ctx.global.root as string) ?? '/run/berth-oci',
    systemdCgroup: !!ctx.global['systemd-cgroup'],
    rootless: ctx.global.rootless === 'true' ? true : ctx.global.rootless === 'false' ? false : 'auto',
    debug: (m) => ctx.log.debug(m),
    warn: (m) => ctx.log.warn(m),
  });
}

function createOpts(f: ParsedFlags) {
  return {
    bundle: (f.bundle as string | undefined) ?? process.cwd(),
    ...(f['console-socket'] ? { consoleSocket: f['console-socket'] as string } : {}),
    ...(f['pid-file'] ? { pidFile: f['pid-file'] as string } : {}),
    ...(f['no-pivot'] ? { noPivot: true } : {}),
    ...(f['no-new-keyring'] ? { noNewKeyring: true } : {}),
    ...(f['preserve-fds'] ? { preserveFds: f['preserve-fds'] as number } : {}),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

const COMMANDS: Record<string, Command> = {
  create: {
    summary: 'create a container',
    usage: '<container-id>',
    flags: CREATE_FLAGS,
    async run(ctx, f, a) {
      need(a, 1, 'create');
      await (await runtime(ctx)).create(a[0]!, createOpts(f));
      return 0;
    },
  },
  start: {
    summary: 'executes the user defined process in a created container',
    usage: '<container-id>',
    flags: {},
    async run(ctx, _f, a) {
      need(a, 1, 'start');
      await (await runtime(ctx)).start(a[0]!);
      return 0;
    },
  },
  run: {
    summary: 'create and run a container',
    usage: '<container-id>',
    flags: { ...CREATE_FLAGS, detach: { type: 'bool', alias: 'd', help: 'detach from the container process' }, keep: { type: 'bool', help: 'do not delete the container after it exits' } },
    async run(ctx, f, a) {
      need(a, 1, 'run');
      return (await runtime(ctx)).run(a[0]!, { ...createOpts(f), detach: !!f.detach, keep: !!f.keep });
    },
  },
  state: {
    summary: 'output the state of a container',
    usage: '<container-id>',
    flags: {},
    async run(ctx, _f, a) {
      need(a, 1, 'state');
      out(JSON.stringify(await (await runtime(ctx)).state(a[0]!), null, 2) + '\n');
      return 0;
    },
  },
  kill: {
    summary: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
    usage: '<container-id> [signal]',
    flags: { all: { type: 'bool', alias: 'a', help: 'send the signal to all processes in the container' } },
    async run(ctx, f, a) {
      need(a, 1, 'kill');
      const { parseSignal } = await import('../../runtime/launch.js');
      const sig = parseSignal(a[1] ?? 'SIGTERM');
      if (sig === null) throw new UsageError(`unknown signal "${a[1]}"`);
      await (await runtime(ctx)).kill(a[0]!, sig, !!f.all);
      return 0;
    },
  },
  delete: {
    summary: 'delete any resources held by the container',
    usage: '<container-id>',
    flags: { force: { type: 'bool', alias: 'f', help: 'forcibly delete the container if it is still running (uses SIGKILL)' } },
    async run(ctx, f, a) {
      need(a, 1, 'delete');
      const rt = await runtime(ctx);
      let failed = 0;
      for (const id of a) {
        try {
          await rt.delete(id, !!f.force);
        } catch (e) {
          // runc: deleting a missing container with --force succeeds
          if (f.force && /does not exist/.test((e as Error).message)) continue;
          ctx.log.error((e as Error).message);
          failed = 1;
        }
      }
      return failed;
    },
  },
  list: {
    summary: 'lists containers started by berth-oci with the given root',
    usage: '',
    flags: {
      format: { type: 'string', alias: 'f', help: 'select one of: table or json', default: 'table' },
      quiet: { type: 'bool', alias: 'q', help: 'display only container IDs' },
    },
    async run(ctx, f) {
      const list = await (await runtime(ctx)).list();
      if (f.quiet) {
        out(list.map((c) => c.id + '\n').join(''));
      } else if (f.format === 'json') {
        out(JSON.stringify(list) + '\n');
      } else if (!f.format || f.format === 'table') {
        const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
        for (const c of list) rows.push([c.id, String(c.pid), c.status, c.bundle, c.created, c.owner]);
        out(table(rows));
      } else {
        throw new UsageError(`invalid format option "${f.format}": use table or json`);
      }
      return 0;
    },
  },
  ps: {
    summary: 'ps displays the processes running inside a container',
    usage: '<container-id> [ps options]',
    flags: { format: { type: 'string', alias: 'f', help: 'select one of: table or json', default: 'table' } },
    async run(ctx, f, a) {
      need(a, 1, 'ps');
      const pids = await (await runtime(ctx)).pids(a[0]!);
      if (f.format === 'json') {
        out(JSON.stringify(pids) + '\n');
        return 0;
      }
      if (f.format && f.format !== 'table') throw new UsageError(`invalid format option "${f.format}": use table or json`);
      const { psTable } = await import('./ps.js');
      out(psTable(pids));
      return 0;
    },
  },
  exec: {
    summary: 'execute new process inside the container',
    usage: '<container-id> <command> [command options]  ||  -p process.json <container-id>',
    flags: {
      'console-socket': { type: 'string', help: 'path to an AF_UNIX socket which will receive the pty master' },
      cwd: { type: 'string', help: 'current working directory in the container' },
      env: { type: 'strings', alias: 'e', help: 'set environment variables' },
      tty: { type: 'bool', alias: 't', help: 'allocate a pseudo-TTY' },
      user: { type: 'string', alias: 'u', help: 'UID (format: <uid>[:<gid>])' },
      'additional-gids': { type: 'strings', alias: 'g', help: 'additional gids' },
      process: { type: 'string', alias: 'p', help: 'path to the process.json' },
      detach: { type: 'bool', alias: 'd', help: 'detach from the container\'s process' },
      'pid-file': { type: 'string', help: 'specify the file to write the process id to' },
      'process-label': { type: 'string', help: 'set the asm process label (not supported: no SELinux here)' },
      apparmor: { type: 'string', help: 'set the apparmor profile (not supported: no AppArmor here)' },
      'no-new-privs': { type: 'bool', help: 'set the no new privileges value for the process' },
      cap: { type: 'strings', alias: 'c', help: 'add a capability to the bounding set for the process' },
      'preserve-fds': { type: 'int', help: 'pass N additional file descriptors to the container', default: '0' },
      cgroup: { type: 'strings', help: 'run the process in a (sub)cgroup (not supported yet)' },
      'ignore-paused': { type: 'bool', help: 'allow exec in a paused container' },
    },
    async run(ctx, f, a) {
      need(a, 1, 'exec');
      const { buildExecProcess } = await import('./exec-process.js');
      const rt = await runtime(ctx);
      const rec = rt.store.load(a[0]!);
      const proc = await buildExecProcess(rec.spec, f, a.slice(1));
      return rt.exec(a[0]!, {
        process: proc,
        detach: !!f.detach,
        ...(f['console-socket'] ? { consoleSocket: f['console-socket'] as string } : {}),
        ...(f['pid-file'] ? { pidFile: f['pid-file'] as string } : {}),
        ...(f['preserve-fds'] ? { preserveFds: f['preserve-fds'] as number } : {}),
      });
    },
  },
  features: {
    summary: 'show the enabled features',
    usage: '',
    flags: {},
    async run() {
      const { features } = await import('../../spec/features.js');
      out(JSON.stringify(features(), null, 4) + '\n');
      return 0;
    },
  },
  spec: {
    summary: 'create a new specification file',
    usage: '',
    flags: {
      bundle: { type: 'string', alias: 'b', help: 'path to the root of the bundle directory' },
      rootless: { type: 'bool', help: 'generate a configuration for a rootless container' },
    },
    async run(_ctx, f) {
      const { defaultSpec } = await import('../../spec/default-spec.js');
      const { existsSync, writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const dir = (f.bundle as string | undefined) ?? '.';
      const path = join(dir, 'config.json');
      if (existsSync(path)) throw new UsageError(`File ${path} exists. Remove it first`);
      writeFileSync(path, JSON.stringify(defaultSpec({ rootless: !!f.rootless }), null, '\t') + '\n');
      return 0;
    },
  },
  checkpoint: {
    summary: 'checkpoint a running container (not available yet)',
    usage: '<container-id>',
    flags: {},
    async run() {
      throw new Error('checkpoint is not supported by this version of berth-oci');
    },
  },
  restore: {
    summary: 'restore a container from a previous checkpoint (not available yet)',
    usage: '<container-id>',
    flags: {},
    async run() {
      throw new Error('restore is not supported by this version of berth-oci');
    },
  },
};

export function registerCommand(name: string, cmd: Command): void {
  COMMANDS[name] = cmd;
}

// pause, resume, update, events (src/cli/oci/cgroup-commands.ts)
for (const [name, cmd] of Object.entries(CGROUP_COMMANDS)) registerCommand(name, cmd);

function help(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length)) + 3;
  return `NAME:
   berth-oci - Open Container Initiative runtime (runc-compatible), part of berth

USAGE:
   berth-oci [global options] command [command options] [arguments...]

VERSION:
   ${VERSION}

COMMANDS:
${names.map((n) => `   ${n.padEnd(w)}${COMMANDS[n]!.summary}`).join('\n')}

GLOBAL OPTIONS:
${usageOf(GLOBAL)}
`;
}

export async function main(argv: string[]): Promise<number> {
  const log = new Logger(undefined, false, false);
  try {
    const { flags: global, rest } = parseFlags(argv, GLOBAL);
    const ctx: Ctx = {
      global,
      log: new Logger(global.log as string | undefined, global['log-format'] === 'json', !!global.debug),
    };
    if (global['log-format'] && !['text', 'json'].includes(global['log-format'] as string)) {
      throw new UsageError(`invalid log-format "${global['log-format']}": use text or json`);
    }
    if (global.version) {
      out(`berth-oci version ${VERSION}\nspec: 1.2.0\n`);
      return 0;
    }
    const name = rest[0];
    if (!name || global.help || name === 'help') {
      const sub = name === 'help' ? rest[1] : undefined;
      const c = sub ? COMMANDS[sub] : undefined;
      out(c ? `USAGE:\n   berth-oci ${sub} [command options] ${c.usage}\n\nOPTIONS:\n${usageOf(c.flags)}\n` : help());
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`No help topic for '${name}'`);
    const sub = rest.slice(1);
    if (sub.includes('--help') || sub.includes('-h')) {
      if (sub.indexOf('--help') < 1 || sub.indexOf('-h') < 1) {
        out(`NAME:\n   berth-oci ${name} - ${cmd.summary}\n\nUSAGE:\n   berth-oci ${name} [command options] ${cmd.usage}\n\nOPTIONS:\n${usageOf(cmd.flags)}\n`);
        return 0;
      }
    }
    const { flags, rest: args } = parseFlags(sub, cmd.flags);
    try {
      return await cmd.run(ctx, flags, args);
    } catch (e) {
      ctx.log.error(errorText(e));
      return 1;
    }
  } catch (e) {
    log.error(errorText(e));
    return e instanceof UsageError ? 1 : 1;
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.name === 'RuntimeError' || e.name === 'UsageError' || e.name === 'SpecError' ? e.message : e.message;
  return String(e);
}

export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} ${path}: not valid JSON: ${(e as Error).message}`);
  }
}
