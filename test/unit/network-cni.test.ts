// CNI delegation without root: conflist loading and validation, the stdin config and
// environment a plugin gets, and ADD/DEL/CHECK order, prevResult chaining, result caching and
// undo on failure -- with small shell-script plugins that log what they were given.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cniEnv, CniError, CniRunner, loadConfList, pluginConfig, primaryIp, type CniConfList } from '../../src/network/cni.js';
import { isNetworkError } from '../../src/network/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-cni-'));
  dirs.push(d);
  return d;
}

/**
 * A fake plugin: appends "<COMMAND> <name> <CNI_IFNAME> <CNI_CONTAINERID>" and its stdin to
 * log; on ADD prints its prevResult plus one address (or a fresh result), or fails when asked.
 */
function plugin(binDir: string, name: string, log: string, opts: { failOn?: string } = {}): void {
  const p = join(binDir, name);
  writeFileSync(p, `#!/bin/sh
in=$(cat)
echo "$CNI_COMMAND ${name} $CNI_IFNAME $CNI_CONTAINERID $CNI_NETNS" >> ${log}
printf '%s\\n' "$in" >> ${log}.stdin
${opts.failOn ? `if [ "$CNI_COMMAND" = "${opts.failOn}" ]; then echo '{"cniVersion":"1.0.0","code":7,"msg":"planned failure","details":"of ${name}"}'; exit 1; fi` : ''}
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/ns"}],"ips":[{"address":"10.7.0.5/24","gateway":"10.7.0.1","interface":0}],"added":"${name}"}'
fi
`);
  chmodSync(p, 0o755);
}

test('loadConfList: path, JSON text, object, single .conf; errors name the field', () => {
  const d = tmp();
  const list = { cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'cni0' }, { type: 'tuning' }] };
  writeFileSync(join(d, 'a.conflist'), JSON.stringify(list));
  assert.deepEqual(loadConfList(join(d, 'a.conflist')), list);
  assert.deepEqual(loadConfList(JSON.stringify(list)), list);
  assert.deepEqual(loadConfList(list), list);
  assert.deepEqual(loadConfList({ cniVersion: '0.4.0', name: 'one', type: 'bridge', bridge: 'x' }), { cniVersion: '0.4.0', name: 'one', plugins: [{ type: 'bridge', bridge: 'x' }] });
  for (const [bad, re] of [
    ['[1]', /must be a JSON object/], ['{', /not valid JSON/], [join(d, 'none'), /does not exist/],
    [{ cniVersion: '1', name: 'x', plugins: [{ type: 'a' }] }, /cniVersion/], [{ cniVersion: '1.0.0', name: 'a b', plugins: [{ type: 'a' }] }, /"name"/],
    [{ cniVersion: '1.0.0', name: 'x' }, /"plugins"/], [{ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'a/b' }] }, /plugins\[0\]\.type/],
  ] as [string | object, RegExp][]) assert.throws(() => loadConfList(bad), (e) => isNetworkError(e, 'invalid') && re.test((e as Error).message), String(re));
});

test('pluginConfig and cniEnv: name and version from the list, runtimeConfig by declared capability, prevResult', () => {
  const list: CniConfList = { cniVersion: '1.0.0', name: 'n', plugins: [] };
  const conf = pluginConfig(list, { type: 'portmap', capabilities: { portMappings: true } }, { cniVersion: '1.0.0', ips: [] }, { portMappings: [{ hostPort: 80 }], bandwidth: { rate: 1 } });
  assert.deepEqual(conf, { type: 'portmap', cniVersion: '1.0.0', name: 'n', runtimeConfig: { portMappings: [{ hostPort: 80 }] }, prevResult: { cniVersion: '1.0.0', ips: [] } });
  assert.deepEqual(pluginConfig(list, { type: 'bridge' }, undefined, { portMappings: [] }), { type: 'bridge', cniVersion: '1.0.0', name: 'n' });
  const env = cniEnv('ADD', { containerId: 'c1', netns: '/run/netns/x', ifname: 'eth0', args: { K8S_POD_NAME: 'p', IgnoreUnknown: '1' } }, ['/a', '/b']);
  assert.equal(env.CNI_COMMAND, 'ADD');
  assert.equal(env.CNI_CONTAINERID, 'c1');
  assert.equal(env.CNI_NETNS, '/run/netns/x');
  assert.equal(env.CNI_IFNAME, 'eth0');
  assert.equal(env.CNI_ARGS, 'K8S_POD_NAME=p;IgnoreUnknown=1');
  assert.equal(env.CNI_PATH, '/a:/b');
});

test('CniRunner: ADD in order with prevResult, cached; CHECK in order; DEL in reverse, idempotent', async () => {
  const bin = tmp();
  const cache = tmp();
  const log = join(bin, 'log');
  plugin(bin, 'one', log);
  plugin(bin, 'two', log);
  const list = loadConfList({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'one', x: 1 }, { type: 'two' }] });
  const r = new CniRunner(cache, [join(bin, 'missing'), bin]);
  const rt = { containerId: 'cid', netns: '/ns', ifname: 'eth0' };
  const res = await r.add(list, rt);
  assert.equal((res as unknown as { added: string }).added, 'two', 'the last plugin\'s result');
  assert.deepEqual(primaryIp(res, 'eth0'), { ip: '10.7.0.5', prefixLen: 24, gateway: '10.7.0.1' });
  const stdins = readFileSync(`${log}.stdin`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(stdins[0]!.prevResult, undefined);
  assert.equal(stdins[0]!.x, 1);
  assert.equal((stdins[1]!.prevResult as { added: string }).added, 'one', 'chained: prevResult is the previous plugin\'s result');
  assert.equal(r.cached('net', 'cid', 'eth0')?.result.ips?.[0]?.address, '10.7.0.5/24');
  assert.equal(r.entries('net').length, 1);
  await r.check(list, rt);
  await r.del(list, rt);
  assert.equal(r.cached('net', 'cid', 'eth0'), undefined, 'the cache goes with DEL');
  await r.del(list, rt); // DEL of what is not there: fine
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(lines, ['ADD one', 'ADD two', 'CHECK one', 'CHECK two', 'DEL two', 'DEL one', 'DEL two', 'DEL one']);
  const dels = readFileSync(`${log}.stdin`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).slice(4, 6);
  assert.equal((dels[0]!.prevResult as { added: string }).added, 'two', 'DEL gets the cached result');
  await assert.rejects(r.check(list, rt), (e) => isNetworkError(e, 'notfound'));
});

test('CniRunner: a failing plugin undoes the ones before it; its error object is reported', async () => {
  const bin = tmp();
  const cache = tmp();
  const log = join(bin, 'log');
  plugin(bin, 'one', log);
  plugin(bin, 'bad', log, { failOn: 'ADD' });
  const r = new CniRunner(cache, [bin]);
  const list = loadConfList({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'one' }, { type: 'bad' }] });
  await assert.rejects(r.add(list, { containerId: 'c', netns: '/ns', ifname: 'eth1' }), (e) => e instanceof CniError && e.cniCode === 7 && /bad ADD failed \(code 7\): planned failure: of bad/.test(e.message));
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' ')), ['ADD one eth1', 'ADD bad eth1', 'DEL one eth1']);
  assert.ok(!existsSync(r.cacheFile('net', 'c', 'eth1')));
  await assert.rejects(r.add(loadConfList({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'nope' }] }), { containerId: 'c', netns: '', ifname: 'eth0' }), /"nope" not found/);
});
