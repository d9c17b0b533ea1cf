// `berth network create|ls|inspect|rm|prune|connect|disconnect`, `berth port`, and the network
// flags of run/create. Errors exit 125 (berth's own), as the engine's other front doors do.
import { EngineError } from '../../engine/errors.js';
import type { NetworkCreateOptions } from '../../engine/networking-options.js';
import { networkRow } from '../../engine/networks.js';
import { parseKeyValues } from '../../engine/units.js';
import type { Command } from './commands.js';
import { bool, filterFlags as filters, list, str, UsageError, type FlagDef, type Flags } from './flags.js';
import { listOutput, quietLines, template } from './format.js';

export const NETWORK_RUN_FLAGS: FlagDef[] = [
  { name: 'add-host', kind: 'list', help: 'Add a custom host-to-IP mapping (host:ip, ip may be host-gateway)' },
  { name: 'dns', kind: 'list', help: 'Set custom DNS servers' },
  { name: 'dns-option', kind: 'list', help: 'Set DNS options' },
  { name: 'dns-search', kind: 'list', help: 'Set custom DNS search domains' },
  { name: 'expose', kind: 'list', help: 'Expose a port or a range of ports' },
  { name: 'egress-rate', kind: 'string', help: "Limit the container's outgoing traffic (berth's own; bytes/s or 10mbit, 1mibps)" },
  { name: 'ip', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104) on a user-defined network' },
  { name: 'ip6', kind: 'string', help: 'IPv6 address (e.g., fd00:1::9) on a user-defined --ipv6 network' },
  { name: 'mac-address', kind: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { name: 'network-alias', kind: 'list', help: 'Add network-scoped alias for the container' },
  { name: 'publish', short: 'p', kind: 'list', help: "Publish a container's port(s) to the host ([ip:]hostPort:containerPort[/proto])" },
  { name: 'publish-all', short: 'P', kind: 'bool', help: 'Publish all exposed ports to random ports' },
];

/** The run/create options of NETWORK_RUN_FLAGS (validated by the engine). */
export function networkRunOptions(f: Flags): NetworkCreateOptions {
  return {
    publish: list(f, 'publish'), publishAll: bool(f, 'publish-all'), expose: list(f, 'expose'),
    ...(str(f, 'ip') !== undefined ? { ip: str(f, 'ip')! } : {}),
    ...(str(f, 'ip6') !== undefined ? { ip6: str(f, 'ip6')! } : {}),
    ...(str(f, 'mac-address') !== undefined ? { macAddress: str(f, 'mac-address')! } : {}),
    ...(str(f, 'egress-rate') !== undefined ? { egressRate: str(f, 'egress-rate')! } : {}),
    networkAliases: list(f, 'network-alias'), dns: list(f, 'dns'), dnsSearch: list(f, 'dns-search'), dnsOptions: list(f, 'dns-option'),
    addHosts: list(f, 'add-host'),
  };
}

const HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };
const DEFAULT_LS = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export const NETWORK_COMMANDS: Record<string, Command> = {
  create: {
    usage: 'network create [OPTIONS] NETWORK',
    summary: 'Create a network',
    flags: [
      { name: 'driver', short: 'd', kind: 'string', help: 'Driver to manage the Network (bridge, cni with -o conflist=PATH)', default: '"bridge"' },
      { name: 'gateway', kind: 'list', help: 'IPv4 or IPv6 Gateway for the master subnet' },
      { name: 'internal', kind: 'bool', help: 'Restrict external access to the network' },
      { name: 'ip-range', kind: 'string', help: 'Allocate container ip from a sub-range' },
      { name: 'ipv6', kind: 'bool', help: 'Enable or disable IPv6 networking' },
      { name: 'label', kind: 'list', help: 'Set metadata on a network' },
      { name: 'opt', short: 'o', kind: 'list', value: 'map', help: 'Set driver specific options (mtu, isolate=true, dns=false, com.docker.network.bridge.name)' },
      { name: 'subnet', kind: 'list', help: 'Subnet in CIDR format that represents a network segment (once per address family)' },
    ],
    minArgs: 1,
    maxArgs: 1,
    daemonErrorCode: 125,
    async run(ctx, f, a) {
      const n = await ctx.engine().networks.create({
        name: a[0]!, ...(str(f, 'driver') ? { driver: str(f, 'driver')! } : {}),
        subnet: list(f, 'subnet'), gateway: list(f, 'gateway'),
        ...(str(f, 'ip-range') ? { ipRange: str(f, 'ip-range')! } : {}), internal: bool(f, 'internal'), ipv6: bool(f, 'ipv6'),
        labels: parseKeyValues(list(f, 'label'), 'label'), options: parseKeyValues(list(f, 'opt'), 'opt'),
      });
      ctx.out(n.id + '\n');
      return 0;
    },
  },
  ls: {
    usage: 'network ls [OPTIONS]',
    summary: 'List networks',
    flags: [
      { name: 'filter', short: 'f', kind: 'list', value: 'filter', help: "Provide filter values (e.g. 'driver=bridge')" },
      { name: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
      { name: 'no-trunc', kind: 'bool', help: 'Do not truncate the output' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display network IDs' },
    ],
    maxArgs: 0,
    daemonErrorCode: 125,
    async run(ctx, f) {
      const nets = ctx.engine().networks.list(filters(f));
      const rows = nets.map((n) => networkRow(n, bool(f, 'no-trunc')));
      if (bool(f, 'quiet')) {
        ctx.out(quietLines(rows.map((r) => String(r.ID))));
        return 0;
      }
      ctx.out(listOutput(rows, str(f, 'format'), DEFAULT_LS, HEADERS));
      return 0;
    },
  },
  inspect: {
    usage: 'network inspect [OPTIONS] NETWORK [NETWORK...]',
    summary: 'Display detailed information on one or more networks',
    flags: [{ name: 'format', short: 'f', kind: 'string', help: 'Format output using a custom template' }],
    minArgs: 1,
    async run(ctx, f, a) {
      const objs: unknown[] = [];
      let status = 0;
      for (const ref of a) {
        try {
          objs.push(ctx.engine().networks.inspect(ref));
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          ctx.err(`Error: ${e.message}\n`);
          status = 1;
        }
      }
      const fmt = str(f, 'format');
      if (fmt) for (const o of objs) ctx.out(template(fmt)(o) + '\n');
      else ctx.out(JSON.stringify(objs, null, 4) + '\n');
      return status;
    },
  },
  rm: {
    usage: 'network rm [OPTIONS] NETWORK [NETWORK...]',
    summary: 'Remove one or more networks',
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Do not error if the network does not exist' }],
    minArgs: 1,
    async run(ctx, f, a) {
      let status = 0;
      for (const ref of a) {
        try {
          await ctx.engine().networks.remove(ref);
          ctx.out(ref + '\n');
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          if (bool(f, 'force') && e.kind === 'notfound') continue;
          ctx.err(`Error response from daemon: ${e.message}\n`);
          status = 125;
        }
      }
      return status;
    },
  },
  prune: {
    usage: 'network prune [OPTIONS]',
    summary: 'Remove all unused networks',
    flags: [
      { name: 'filter', kind: 'list', value: 'filter', help: "Provide filter values (e.g. 'until=<timestamp>', 'label=k=v')" },
      { name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
    ],
    maxArgs: 0,
    daemonErrorCode: 125,
    async run(ctx, f) {
      if (!bool(f, 'force')) {
        if (!process.stdin.isTTY) throw new UsageError('refusing to prune without confirmation: use --force');
        ctx.err('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
        const answer = await new Promise<string>((res) => process.stdin.once('data', (d) => res(String(d))));
        process.stdin.pause();
        if (!/^y(es)?$/i.test(answer.trim())) return 0;
      }
      const removed = await ctx.engine().networks.prune(filters(f));
      if (removed.length) ctx.out(`Deleted Networks:\n${removed.map((n) => n + '\n').join('')}`);
      return 0;
    },
  },
  connect: {
    usage: 'network connect [OPTIONS] NETWORK CONTAINER',
    summary: 'Connect a container to a network',
    flags: [
      { name: 'alias', kind: 'list', help: 'Add network-scoped alias for the container' },
      { name: 'egress-rate', kind: 'string', help: "Limit the container's outgoing traffic on this network (berth's own; 10mbit, 1mibps)" },
      { name: 'ip', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
      { name: 'ip6', kind: 'string', help: 'IPv6 address (e.g., fd00:1::9)' },
    ],
    minArgs: 2,
    maxArgs: 2,
    daemonErrorCode: 125,
    async run(ctx, f, a) {
      await ctx.engine().networks.connect(a[0]!, a[1]!, {
        aliases: list(f, 'alias'), ...(str(f, 'ip') ? { ip: str(f, 'ip')! } : {}), ...(str(f, 'ip6') ? { ip6: str(f, 'ip6')! } : {}),
        ...(str(f, 'egress-rate') ? { egressRate: str(f, 'egress-rate')! } : {}),
      });
      return 0;
    },
  },
  disconnect: {
    usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
    summary: 'Disconnect a container from a network',
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Force the container to disconnect from a network' }],
    minArgs: 2,
    maxArgs: 2,
    daemonErrorCode: 125,
    async run(ctx, f, a) {
      await ctx.engine().networks.disconnect(a[0]!, a[1]!, { force: bool(f, 'force') });
      return 0;
    },
  },
};

/** Top-level verbs: `berth port`. */
export const NETWORK_VERBS: Record<string, Command> = {
  port: {
    usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
    summary: 'List port mappings or a specific mapping for the container',
    flags: [],
    minArgs: 1,
    maxArgs: 2,
    async run(ctx, _f, a) {
      const ports = ctx.engine().networks.ports(a[0]!, a[1]);
      if (a[1] !== undefined) ctx.out(ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}\n`).join(''));
      else ctx.out(ports.map((p) => `${p.containerPort}/${p.proto} -> ${p.hostIp || '0.0.0.0'}:${p.hostPort}\n`).join(''));
      return 0;
    },
  },
};
