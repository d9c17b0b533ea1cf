// Where a registry lives and how to talk to it: Docker Hub's API host, plain HTTP for loopback
// and for registries marked insecure, custom CAs and client certificates from
// certs.d/<host>/ (ca.crt or *.crt, client.cert + client.key) like docker, or given directly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { deferredExtraCa } from './extra-ca.js';
import { join } from 'node:path';
import { DEFAULT_DOMAIN } from '../reference.js';

export const DEFAULT_CERTS_DIRS = ['/etc/berth/certs.d', '/etc/docker/certs.d'];

export interface HostOptions {
  /** Hosts ("host:port") allowed over plain HTTP or with unverified TLS, like docker's insecure-registries. */
  insecureRegistries?: string[];
  /** Directories holding <host>/ca.crt (default /etc/berth/certs.d and /etc/docker/certs.d). */
  certsDirs?: string[];
  /** Extra CA certificates (PEM) trusted for every registry. */
  ca?: (string | Buffer)[];
}

export interface TlsOptions {
  ca?: (string | Buffer)[];
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

export interface RegistryEndpoint {
  /** The name in references: "docker.io", "localhost:5000". */
  host: string;
  /** The host:port requests go to: "registry-1.docker.io", "localhost:5000". */
  apiHost: string;
  /** Schemes to try, in order (the first that answers /v2/ wins). */
  schemes: ('https' | 'http')[];
  tls: TlsOptions;
  insecure: boolean;
}

/** Host part of "host:port" / "[v6]:port". */
export function hostname(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i === -1 ? hostPort : hostPort.slice(0, i);
}

export function isLoopbackHost(hostPort: string): boolean {
  const h = hostname(hostPort).toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

function matchesInsecure(host: string, list: string[]): boolean {
  const h = host.toLowerCase();
  return list.some((e) => {
    const x = e.toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
    return x === h || x === hostname(h);
  });
}

function certsFor(host: string, dirs: string[]): { ca: Buffer[]; cert?: Buffer; key?: Buffer } | undefined {
  for (const base of dirs) {
    // docker names the directory host:port; ':' is also written as '_' on some systems
    for (const name of [host, host.replace(/:/g, '_')]) {
      const dir = join(base, name);
      if (!existsSync(dir)) continue;
      const out: { ca: Buffer[]; cert?: Buffer; key?: Buffer } = { ca: [] };
      for (const f of readdirSync(dir).sort()) {
        if (f.endsWith('.crt')) out.ca.push(readFileSync(join(dir, f)));
        else if (f.endsWith('.cert')) {
          const key = join(dir, `${f.slice(0, -5)}.key`);
          if (existsSync(key)) {
            out.cert = readFileSync(join(dir, f));
            out.key = readFileSync(key);
          }
        }
      }
      return out;
    }
  }
  return undefined;
}

/** How to reach the registry named `host` in references. */
export function registryEndpoint(host: string, opts: HostOptions = {}): RegistryEndpoint {
  const apiHost = host === DEFAULT_DOMAIN ? 'registry-1.docker.io' : host;
  const insecure = matchesInsecure(host, opts.insecureRegistries ?? []);
  const certs = certsFor(host, opts.certsDirs ?? DEFAULT_CERTS_DIRS);
  const extraCa = [...(opts.ca ?? []), ...(certs?.ca ?? []), ...deferredExtraCa()];
  const tls: TlsOptions = { rejectUnauthorized: !insecure };
  // a custom CA is added to the system's roots, not used instead of them
  if (extraCa.length) tls.ca = [...rootCertificates, ...extraCa];
  if (certs?.cert && certs.key) {
    tls.cert = certs.cert;
    tls.key = certs.key;
  }
  let schemes: ('https' | 'http')[];
  if (certs || opts.ca?.length) schemes = insecure ? ['https', 'http'] : ['https'];
  else if (isLoopbackHost(host)) schemes = ['http', 'https'];
  else if (insecure) schemes = ['https', 'http'];
  else schemes = ['https'];
  return { host, apiHost, schemes, tls, insecure };
}
