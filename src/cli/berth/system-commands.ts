// `berth system info|df|prune|restore` and `berth info`: docker's output, flags and prompts over
// src/engine/system.ts and src/engine/restore.ts.
import { restoreContainers } from '../../engine/restore.js';
import { dfSummary, systemDf, systemInfo, systemPrune, type SystemInfo } from '../../engine/system.js';
import { shortId } from '../../engine/ids.js';
import { humanDuration, parseRfc3339 } from '../../engine/time.js';
import type { Command, Ctx } from './commands.js';
import { bool, filterFlags, str } from './flags.js';
import { bytesSize, formatRows, humanSize, listOutput, template } from './format.js';

/** docker's prompt: reads one line of stdin (a TTY or a pipe); anything but y/yes declines. */
async function confirm(ctx: Ctx, text: string): Promise<boolean> {
  ctx.out(`${text}\nAre you sure you want to continue? [y/N] `);
  const stdin = process.stdin;
  const answer = await new Promise<string>((res) => {
    let buf = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.pause();
      res(buf.split('\n')[0]!.trim());
    };
    const onData = (d: Buffer) => {
      buf += String(d);
      if (buf.includes('\n')) done();
    };
    stdin.on('data', onData);
    stdin.once('end', done);
  });
  return /^y(es)?$/i.test(answer);
}

function infoText(i: SystemInfo, version: string): string {
  const sec = i.SecurityOptions.map((s) => {
    const kv = Object.fromEntries(s.split(',').map((p) => p.split('=') as [string, string]));
    return `  ${kv.name}\n${Object.entries(kv).filter(([k]) => k !== 'name').map(([k, v]) => `   ${k[0]!.toUpperCase()}${k.slice(1)}: ${v}\n`).join('')}`;
  }).join('');
  return `Client:
 Version:    ${version}
 Context:    default
 Debug Mode: false

Server:
 Containers: ${i.Containers}
  Running: ${i.ContainersRunning}
  Paused: ${i.ContainersPaused}
  Stopped: ${i.ContainersStopped}
 Images: ${i.Images}
 Server Version: ${i.ServerVersion}
 Storage Driver: ${i.Driver}
${i.DriverStatus.map(([k, v]) => `  ${k}: ${v}\n`).join('')} Logging Driver: ${i.LoggingDriver}
 Cgroup Driver: ${i.CgroupDriver}
 Cgroup Version: ${i.CgroupVersion}
 Runtimes: ${Object.keys(i.Runtimes).join(' ')}
 Default Runtime: ${i.DefaultRuntime}
 Security Options:
${sec} Kernel Version: ${i.KernelVersion}
 Operating System: ${i.OperatingSystem}
 OSType: ${i.OSType}
 Architecture: ${i.Architecture}
 CPUs: ${i.NCPU}
 Total Memory: ${bytesSize(i.MemTotal)}
 Name: ${i.Name}
 ID: ${i.ID}
 Docker Root Dir: ${i.DockerRootDir}
 Debug Mode: ${i.Debug}
`;
}

const info: Command = {
  usage: 'system info [OPTIONS]',
  summary: 'Display system-wide information',
  flags: [{ name: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" }],
  maxArgs: 0,
  async run(ctx, f) {
    const i = systemInfo(ctx.engine(), ctx.version);
    const fmt = str(f, 'format');
    if (fmt === 'json' || fmt === '{{json .}}') ctx.out(JSON.stringify(i) + '\n');
    else if (fmt) ctx.out(template(fmt)(i as never) + '\n');
    else {
      ctx.out(infoText(i, ctx.version));
      for (const w of i.Warnings) ctx.err(`${w}\n`);
    }
    return 0;
  },
};

// docker's disk-usage formatter: an integer percentage, rounded down, when the total is not 0
const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.floor((part * 100) / whole)}%)` : '');
const ago = (t: string) => {
  const ns = parseRfc3339(t);
  return ns === null ? '' : `${humanDuration(Date.now() - Number(ns / 1_000_000n))} ago`;
};

const df: Command = {
  usage: 'system df [OPTIONS]',
  summary: 'Show berth disk usage',
  flags: [
    { name: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { name: 'verbose', short: 'v', kind: 'bool', help: 'Show detailed information on space usage' },
  ],
  maxArgs: 0,
  async run(ctx, f) {
    const d = await systemDf(ctx.engine());
    const rows = dfSummary(d).map((r) => ({
      Type: r.Type, TotalCount: String(r.TotalCount), Active: String(r.Active), Size: humanSize(r.Size),
      Reclaimable: `${humanSize(r.Reclaimable)}${r.Type === 'Build Cache' ? '' : pct(r.Reclaimable, r.Size)}`,
    }));
    const headers = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
    const fmt = str(f, 'format');
    if (!bool(f, 'verbose')) {
      ctx.out(listOutput(rows, fmt, 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}', headers));
      return 0;
    }
    if (fmt === 'json') {
      ctx.out(JSON.stringify({ Images: d.Images, Containers: d.Containers.map(({ record: _r, ...c }) => c), Volumes: d.Volumes, BuildCache: d.BuildCache, LayersSize: d.LayersSize }) + '\n');
      return 0;
    }
    const images = d.Images.flatMap((i) => (i.RepoTags.length ? i.RepoTags : ['<none>:<none>']).map((t) => {
      const c = t.lastIndexOf(':');
      return { Repository: t.slice(0, c), Tag: t.slice(c + 1), ID: i.Id.replace(/^sha256:/, '').slice(0, 12), CreatedSince: `${humanDuration(Date.now() - i.Created * 1000)} ago`, Size: humanSize(i.Size), SharedSize: humanSize(i.SharedSize), UniqueSize: humanSize(i.Size - i.SharedSize), Containers: String(i.Containers) };
    }));
    ctx.out('Images space usage:\n\n');
    ctx.out(formatRows(images, 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
      { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' }));
    const ctrs = d.Containers.map((c) => ({ ID: shortId(c.Id), Image: c.Image, Command: JSON.stringify(c.Command.length > 20 ? c.Command.slice(0, 19) + '…' : c.Command), LocalVolumes: String(c.LocalVolumes), Size: humanSize(c.SizeRw), RunningFor: ago(c.Created), Status: c.State, Names: c.Names[0]!.slice(1) }));
    ctx.out('\nContainers space usage:\n\n');
    ctx.out(formatRows(ctrs, 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
      { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' }));
    ctx.out('\nLocal Volumes space usage:\n\n');
    ctx.out(formatRows(d.Volumes.map((v) => ({ Name: v.Name, Links: String(v.RefCount), Size: humanSize(v.Size) })), 'table {{.Name}}\t{{.Links}}\t{{.Size}}', { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }));
    ctx.out('\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE   CREATED   LAST USED   USAGE   SHARED\n');
    return 0;
  },
};

const prune: Command = {
  usage: 'system prune [OPTIONS]',
  summary: 'Remove unused data',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', help: 'Remove all unused images not just dangling ones' },
    { name: 'filter', kind: 'list', value: 'filter', help: "Provide filter values (e.g. 'label=<key>=<value>', 'until=24h')" },
    { name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', help: 'Prune anonymous volumes' },
  ],
  maxArgs: 0,
  async run(ctx, f) {
    const filters = filterFlags(f);
    const engine = ctx.engine();
    if (!bool(f, 'force')) {
      const items = [
        '  - all stopped containers',
        '  - all networks not used by at least one container',
        ...(bool(f, 'volumes') ? ['  - all anonymous volumes not used by at least one container'] : []),
        bool(f, 'all') ? '  - all images without at least one container associated to them' : '  - all dangling images',
        '  - unused build cache',
      ];
      if (!(await confirm(ctx, `WARNING! This will remove:\n${items.join('\n')}\n`))) return 0;
    }
    const r = await systemPrune(engine, { all: bool(f, 'all'), volumes: bool(f, 'volumes'), filters });
    if (r.containers.length) ctx.out(`Deleted Containers:\n${r.containers.map((x) => x + '\n').join('')}\n`);
    if (r.networks.length) ctx.out(`Deleted Networks:\n${r.networks.map((x) => x + '\n').join('')}\n`);
    if (r.volumes.length) ctx.out(`Deleted Volumes:\n${r.volumes.map((x) => x + '\n').join('')}\n`);
    if (r.images.length) ctx.out(`Deleted Images:\n${r.images.map((x) => ('Untagged' in x ? `untagged: ${x.Untagged}` : `deleted: ${x.Deleted}`) + '\n').join('')}\n`);
    ctx.out(`Total reclaimed space: ${humanSize(r.bytes)}\n`);
    return 0;
  },
};

const restore: Command = {
  usage: 'system restore',
  summary: 'Start the containers whose restart policy asks for it after a reboot (run at boot by contrib/berth-restore.service)',
  flags: [],
  maxArgs: 0,
  async run(ctx) {
    const r = await restoreContainers(ctx.engine(), { warn: (m) => ctx.err(`WARNING: ${m}\n`) });
    for (const id of r.started) ctx.out(`${id}\n`);
    return r.failed.length ? 1 : 0;
  },
};

/** Under `berth system`. */
export const SYSTEM_EXTRA: Record<string, Command> = { info, df, prune, restore };
/** Top-level: `berth info`. */
export const SYSTEM_VERBS: Record<string, Command> = { info: { ...info, usage: 'info [OPTIONS]' } };
