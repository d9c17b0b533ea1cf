// A fake systemd on a D-Bus socket, for unit tests of the systemd cgroup driver: it speaks the
// peer-to-peer protocol of /run/systemd/private (EXTERNAL auth, no Hello), answers the Manager
// methods the driver uses, creates and removes the unit's cgroup in a fake cgroupfs tree (in the
// hierarchies systemd 252 manages: not cpuset or freezer) and logs every call as a JSON line.
// It runs as its own process because the driver blocks its thread while it waits for answers.
//
//   node fake-systemd-peer.js SOCKET ROOT SPEC_JSON LOG [MODE]
//   MODE: "ok" (default), "fail-job" (jobs end with result "failed"), "exists" (StartTransientUnit
//   answers UnitExists)
import { appendFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { buildFakeHost, type FakeHostSpec } from '../../src/cgroups/fake.js';
import { expandSlice } from '../../src/cgroups/systemd/unit.js';
import { decodeMessage, encodeMessage, MSG, messageLength, type Message, type Variant } from '../../src/cgroups/systemd/dbus-wire.js';

const [socket, root, specJson, log, mode = 'ok'] = process.argv.slice(2) as [string, string, string, string, string?];
const spec = JSON.parse(specJson) as FakeHostSpec;
const fs = buildFakeHost(root, spec);
const MANAGED = (subs: string[]): boolean => !subs.includes('cpuset') && !subs.includes('freezer');
const units = new Map<string, string>(); // unit -> cgroup path
let jobs = 0;
let serial = 1000;

function unitDirs(path: string): string[] {
  return fs.mounts.filter((m) => m.v2 || MANAGED(m.subsystems)).map((m) => `${m.mountpoint}${path}`);
}

function handle(sock: Socket, m: Message): void {
  appendFileSync(log, JSON.stringify({ member: m.member, body: m.body }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
  const reply = (signature: string, body: unknown[]): void => void sock.write(encodeMessage({ type: MSG.reply, serial: serial++, replySerial: m.serial, signature, body }));
  const error = (name: string, text: string): void => void sock.write(encodeMessage({ type: MSG.error, serial: serial++, replySerial: m.serial, errorName: name, signature: 's', body: [text] }));
  const job = (unit: string): void => {
    const path = `/org/freedesktop/systemd1/job/${++jobs}`;
    reply('o', [path]);
    const result = mode === 'fail-job' ? 'failed' : 'done';
    sock.write(encodeMessage({ type: MSG.signal, serial: serial++, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'JobRemoved', signature: 'uoss', body: [jobs, path, unit, result] }));
  };
  switch (m.member) {
    case 'Subscribe':
    case 'ResetFailedUnit':
    case 'SetUnitProperties':
      return reply('', []);
    case 'StartTransientUnit': {
      const [unit, , props] = m.body as [string, string, [string, Variant][]];
      if (mode === 'exists') return error('org.freedesktop.systemd1.UnitExists', `Unit ${unit} was already loaded or has a fragment file.`);
      const slice = props.find(([k]) => k === 'Slice')?.[1].value as string | undefined;
      const base = slice ? expandSlice(slice) : '';
      const path = `${base === '/' ? '' : base}/${unit}`;
      if (mode !== 'fail-job') {
        for (const m of fs.mounts.filter((x) => x.v2 || MANAGED(x.subsystems))) {
          // Delegate=yes on cgroup v2: systemd enables the controllers down to the unit
          const enable = m.v2 && spec.layout === 'v2' ? (spec.v2Controllers ?? []).map((c) => `+${c}`).join(' ') : '';
          let cur = m.mountpoint;
          for (const seg of path.split('/').filter(Boolean)) {
            if (enable) fs.write(`${cur}/cgroup.subtree_control`, enable);
            cur += `/${seg}`;
            fs.mkdir(cur);
          }
        }
        units.set(unit, path);
      }
      return job(unit);
    }
    case 'StopUnit': {
      const [unit] = m.body as [string];
      const path = units.get(unit);
      if (!path) return error('org.freedesktop.systemd1.NoSuchUnit', `Unit ${unit} not loaded.`);
      for (const d of unitDirs(path).reverse()) rmSync(root + d, { recursive: true, force: true });
      units.delete(unit);
      return job(unit);
    }
    default:
      return error('org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${m.member}`);
  }
}

const server = createServer((sock) => {
  let buf = Buffer.alloc(0);
  let authed = false;
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!authed) {
      const text = buf.toString('latin1');
      const end = text.indexOf('BEGIN\r\n');
      if (!text.includes('AUTH EXTERNAL ')) return;
      if (!text.includes('\r\n')) return;
      if (!(sock as Socket & { ok?: boolean }).ok) {
        sock.write('OK 0123456789abcdef0123456789abcdef\r\n');
        (sock as Socket & { ok?: boolean }).ok = true;
      }
      if (end < 0) return;
      buf = buf.subarray(end + 'BEGIN\r\n'.length);
      authed = true;
    }
    let n: number;
    while ((n = messageLength(buf)) > 0) {
      const m = decodeMessage(buf.subarray(0, n));
      buf = buf.subarray(n);
      if (m.type === MSG.call) handle(sock, m);
    }
  });
  sock.on('error', () => {});
});
server.listen(socket, () => appendFileSync(log, JSON.stringify({ member: '(listening)' }) + '\n'));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
