// A real registry for image tests: Debian's docker-registry (the CNCF distribution registry)
// started on 127.0.0.1 with a free port and a temporary storage directory, optionally with
// htpasswd auth, Bearer token auth (a tiny token server here, tokens signed with a key and
// certificate made by openssl at test time) or TLS with a custom CA. Also: a proxy that
// misbehaves on purpose, and builders for test images (a busybox rootfs as a gzip layer).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeBusyboxRootfs } from './bundle.js';
import { MEDIA, type Descriptor, type Platform } from '../../src/image/types.js';
import type { FileContentStore } from '../../src/image/content-store.js';
import { digestOf } from '../../src/image/digest.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function haveRegistry(): boolean {
  return existsSync(REGISTRY_BIN);
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

export interface TokenServer {
  url: string;
  /** Requests seen: account (or "" for anonymous) and scopes asked. */
  requests: { account: string; scopes: string[] }[];
  close(): Promise<void>;
}

export interface TestRegistry {
  /** "127.0.0.1:PORT": the registry's name in references. */
  host: string;
  port: number;
  dir: string;
  users: Record<string, string>;
  token?: TokenServer;
  /** The CA certificate (PEM file) of a TLS registry. */
  caFile?: string;
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'htpasswd' | 'token';
  users?: Record<string, string>;
  tls?: boolean;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** The token server: users get what they ask for; anonymous users may pull "public/*" only. */
async function startTokenServer(dir: string, users: Record<string, string>, service: string, issuer: string): Promise<TokenServer> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '1', '-subj', '/CN=berth-test-token'], dir);
  const key = readFileSync(join(dir, 'token.key'));
  const certPem = readFileSync(join(dir, 'token.crt'), 'utf8');
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const requests: TokenServer['requests'] = [];
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let account = '';
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (!u || users[u] !== p.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid credentials"}');
        return;
      }
      account = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ account, scopes });
    const access = scopes.flatMap((s) => {
      const m = /^(\w+):(.+):([\w,*]+)$/.exec(s);
      if (!m) return [];
      let actions = m[3]!.split(',');
      if (!account) actions = m[2]!.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
      return [{ type: m[1], name: m[2], actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: account, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

function makeTlsCerts(dir: string): { caFile: string; certFile: string; keyFile: string } {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=berth-test-ca'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf'], dir);
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') };
}

/** Starts docker-registry on 127.0.0.1:<free port>; stop() kills it and removes its files. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  if (!haveRegistry()) throw new Error('docker-registry is not installed (apt-get install docker-registry; see scripts/setup-host.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const users = opts.users ?? { alice: 'wonderland' };
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  let caFile: string | undefined;
  if (opts.tls) {
    const t = makeTlsCerts(dir);
    caFile = t.caFile;
    lines.push('  tls:', `    certificate: ${t.certFile}`, `    key: ${t.keyFile}`);
  }
  let token: TokenServer | undefined;
  if (opts.auth === 'htpasswd') {
    const entries = Object.entries(users).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'htpasswd'), `${entries.join('\n')}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
  } else if (opts.auth === 'token') {
    token = await startTokenServer(dir, users, 'berth-test-registry', 'berth-test-issuer');
    lines.push(
      'auth:', '  token:', `    realm: ${token.url}`, '    service: berth-test-registry', '    issuer: berth-test-issuer',
      `    rootcertbundle: ${join(dir, 'token.crt')}`,
    );
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const logFile = join(dir, 'registry.log');
  let log = '';
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.on('exit', () => {
    exited = true;
    r();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    await token?.close();
    writeFileSync(logFile, log);
    rmSync(dir, { recursive: true, force: true });
  };
  // ready when it answers /v2/ (any status)
  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`docker-registry exited at start:\n${log}`);
    }
    // ready once it accepts connections
    const ok = await new Promise<boolean>((res) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        res(true);
      });
      c.on('error', () => res(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const reg: TestRegistry = { host, port, dir, users, log: () => log, stop };
  if (token) reg.token = token;
  if (caFile) reg.caFile = caFile;
  return reg;
}

// ---- a misbehaving proxy ----

export interface ProxyRule {
  /** Which requests this rule applies to (method and path). */
  match: (req: IncomingMessage) => boolean;
  /** How many matching requests it applies to (default: all). */
  times?: number;
  /** Send the headers and this many body bytes, then drop the connection. */
  cutAfter?: number;
  /** Flip a byte of the body (keeping headers and length). */
  corrupt?: boolean;
  /** Answer with this status instead of forwarding. */
  status?: number;
  /** Send this body instead of the registry's (headers kept, Content-Length fixed). */
  replaceBody?: Buffer;
  /** Send the headers and this many body bytes, then send nothing more (the client hangs). */
  stallAfter?: number;
}

export interface TestProxy {
  host: string;
  /** Every request seen: method, path, Range header, body bytes sent back. */
  requests: { method: string; path: string; range?: string; bytes: number }[];
  close(): Promise<void>;
}

/** A proxy to the registry on 127.0.0.1 that applies rules to matching requests. */
export async function startProxy(target: TestRegistry, rules: ProxyRule[]): Promise<TestProxy> {
  const requests: TestProxy['requests'] = [];
  const used = rules.map(() => 0);
  const sockets = new Set<Socket>();
  const srv: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: TestProxy['requests'][number] = { method: req.method ?? '', path: req.url ?? '', bytes: 0 };
    if (req.headers.range) entry.range = req.headers.range;
    requests.push(entry);
    const i = rules.findIndex((r, k) => r.match(req) && (r.times === undefined || used[k]! < r.times));
    const rule = i >= 0 ? rules[i] : undefined;
    if (i >= 0) used[i]!++;
    if (rule?.status) {
      req.resume();
      res.writeHead(rule.status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}');
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      if (rule?.replaceBody) {
        ur.resume();
        res.writeHead(ur.statusCode ?? 502, { ...ur.headers, 'content-length': String(rule.replaceBody.length) });
        res.end(rule.replaceBody);
        entry.bytes = rule.replaceBody.length;
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      let sent = 0;
      let flipped = false;
      ur.on('data', (chunk: Buffer) => {
        let c = chunk;
        if (rule?.corrupt && !flipped && c.length > 0) {
          c = Buffer.from(c);
          c[c.length >> 1] = c[c.length >> 1]! ^ 0xff;
          flipped = true;
        }
        if (rule?.stallAfter !== undefined && sent + c.length >= rule.stallAfter) {
          if (sent < rule.stallAfter) res.write(c.subarray(0, rule.stallAfter - sent));
          sent = entry.bytes = Math.max(sent, rule.stallAfter);
          ur.destroy();
          return;
        }
        if (rule?.cutAfter !== undefined && sent + c.length >= rule.cutAfter) {
          const part = c.subarray(0, rule.cutAfter - sent);
          sent += part.length;
          entry.bytes = sent;
          res.write(part, () => res.socket?.destroy());
          ur.destroy();
          return;
        }
        sent += c.length;
        entry.bytes = sent;
        res.write(c);
      });
      ur.on('end', () => {
        if (rule?.stallAfter === undefined) res.end();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

// ---- test images ----

let busyboxTar: Buffer | undefined;

/** A tarball of a busybox-static rootfs (uncompressed), made once per process. */
export function busyboxLayerTar(): Buffer {
  if (busyboxTar) return busyboxTar;
  const dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
  try {
    makeBusyboxRootfs(join(dir, 'rootfs'));
    busyboxTar = execFileSync('tar', ['-C', join(dir, 'rootfs'), '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '.'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return busyboxTar;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tarball holding one file of `size` random (incompressible) bytes. */
export function randomLayerTar(name: string, size: number): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layer-'));
  try {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', name), randomBytes(size));
    return execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', 'data'], { maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** Writes layers (gzip), a config and a manifest into the content store. */
export function buildImage(content: FileContentStore, tars: Buffer[], opts: { platform?: Platform; docker?: boolean; label?: string } = {}): BuiltImage {
  const docker = opts.docker === true;
  const layers = tars.map((t) => {
    const gz = gzipSync(t, { level: 1 });
    return { mediaType: docker ? MEDIA.dockerLayerGzip : MEDIA.ociLayerGzip, digest: content.put(gz), size: gz.length };
  });
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const cfg = JSON.stringify({
    architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}),
    created: new Date().toISOString(),
    config: { Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { 'berth.test': opts.label ?? 'x' } },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) },
    history: tars.map((_, i) => ({ created_by: `layer ${i}` })),
  });
  const config = { mediaType: docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: content.put(cfg), size: Buffer.byteLength(cfg) };
  const m = JSON.stringify({ schemaVersion: 2, mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest, config, layers });
  const manifest = { mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest, digest: content.put(m), size: Buffer.byteLength(m) };
  return { manifest, config, layers };
}

/** An index over images of several platforms. */
export function buildIndex(content: FileContentStore, images: { image: BuiltImage; platform: Platform }[]): Descriptor {
  const idx = JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociIndex,
    manifests: images.map(({ image, platform }) => ({ ...image.manifest, platform })),
  });
  return { mediaType: MEDIA.ociIndex, digest: content.put(idx), size: Buffer.byteLength(idx) };
}

/** sha256 of a file, to check a stored blob against its name. */
export function fileDigest(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}
