// Credentials in a docker-compatible config.json ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json): `auths.<host>.auth` is base64("user:password"); `identitytoken` is an
// OAuth2 refresh token. credHelpers/credsStore (docker-credential-* programs) are read too.
// Writes keep every other field of the file and are atomic with mode 0600.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ImageError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { withLock } from '../lock.js';
import { DEFAULT_DOMAIN } from '../reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (docker's identitytoken) instead of a password. */
  identityToken?: string;
}

/** The key docker uses for Docker Hub. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The config.json key for a registry host (Docker Hub has its legacy URL). */
export function credentialKey(host: string): string {
  const h = normalizeHostKey(host);
  return h === DEFAULT_DOMAIN ? DOCKER_HUB_KEY : h;
}

/** "https://host:5000/v1/" -> "host:5000"; Docker Hub's aliases -> "docker.io". */
function normalizeHostKey(key: string): string {
  let h = key.trim().replace(/^[a-z]+:\/\//i, '');
  h = h.split('/')[0]!.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io' || h === 'docker.io') return DEFAULT_DOMAIN;
  return h;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

function readConfig(path: string): DockerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as DockerConfigFile;
  } catch (e) {
    throw new ImageError(`${path}: invalid JSON (${(e as Error).message}); fix or remove the file`, 'bad_config');
  }
}

function decodeEntry(entry: AuthEntry, where: string): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const raw = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = raw.indexOf(':');
    if (i < 0) throw new ImageError(`${where}: the "auth" value is not base64 of "user:password"`, 'bad_config');
    username = raw.slice(0, i);
    password = raw.slice(i + 1);
  }
  if (entry.identitytoken) return { username, password, identityToken: entry.identitytoken };
  if (!username && !password) return undefined;
  return { username, password };
}

function fromHelper(helper: string, key: string): Credentials | undefined {
  if (!/^[\w.-]+$/.test(helper)) return undefined;
  try {
    const out = execFileSync(`docker-credential-${helper}`, ['get'], { input: key, encoding: 'utf8', timeout: 10000, stdio: ['pipe', 'pipe', 'ignore'] });
    const v = JSON.parse(out) as { Username?: string; Secret?: string };
    if (!v.Secret) return undefined;
    if (v.Username === '<token>') return { username: '', password: '', identityToken: v.Secret };
    return { username: v.Username ?? '', password: v.Secret };
  } catch {
    return undefined;
  }
}

/** Credentials stored for a registry host, or undefined. */
export function readCredentials(host: string, path = dockerConfigPath()): Credentials | undefined {
  const cfg = readConfig(path);
  const want = normalizeHostKey(host);
  const helper = cfg.credHelpers?.[credentialKey(host)] ?? cfg.credHelpers?.[want];
  if (helper) return fromHelper(helper, credentialKey(host));
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    if (normalizeHostKey(key) === want && entry && typeof entry === 'object') {
      const c = decodeEntry(entry, `${path}: auths["${key}"]`);
      if (c) return c;
    }
  }
  if (cfg.credsStore) return fromHelper(cfg.credsStore, credentialKey(host));
  return undefined;
}

/** Stores credentials for a host (replacing any entry for it). */
export async function storeCredentials(host: string, creds: Credentials, path = dockerConfigPath()): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await withLock(path, () => {
    const cfg = readConfig(path);
    const auths = { ...(cfg.auths ?? {}) };
    const want = normalizeHostKey(host);
    for (const key of Object.keys(auths)) if (normalizeHostKey(key) === want) delete auths[key];
    const entry: AuthEntry = { auth: Buffer.from(`${creds.username}:${creds.identityToken ? '' : creds.password}`).toString('base64') };
    if (creds.identityToken) entry.identitytoken = creds.identityToken;
    auths[credentialKey(host)] = entry;
    writeFileAtomic(path, `${JSON.stringify({ ...cfg, auths }, null, '\t')}\n`, 0o600);
  });
}

/** Removes a host's credentials; false when there were none. */
export async function removeCredentials(host: string, path = dockerConfigPath()): Promise<boolean> {
  return withLock(path, () => {
    const cfg = readConfig(path);
    if (!cfg.auths) return false;
    const auths = { ...cfg.auths };
    const want = normalizeHostKey(host);
    let removed = false;
    for (const key of Object.keys(auths)) {
      if (normalizeHostKey(key) === want) {
        delete auths[key];
        removed = true;
      }
    }
    if (removed) writeFileAtomic(path, `${JSON.stringify({ ...cfg, auths }, null, '\t')}\n`, 0o600);
    return removed;
  });
}
