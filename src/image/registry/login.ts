// login / logout: credentials are verified against the registry (GET /v2/ authorized, through
// the token service when the registry uses one) before they are stored in config.json.
import { ImageError } from '../errors.js';
import { DEFAULT_DOMAIN } from '../reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { dockerConfigPath, removeCredentials, storeCredentials, type Credentials } from './credentials.js';

/** "https://index.docker.io/v1/" / "localhost:5000/" / "" -> the registry host as references name it. */
export function loginHost(server: string | undefined): string {
  if (!server) return DEFAULT_DOMAIN;
  let h = server.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io') h = DEFAULT_DOMAIN;
  if (!h || /[\s@]/.test(h)) throw new ImageError(`invalid registry address "${server}"`, 'invalid_reference');
  return h;
}

export interface LoginOptions extends Omit<RegistryClientOptions, 'credentials' | 'anonymous'> {}

/** Checks credentials against the registry without storing them. */
export async function verifyCredentials(server: string | undefined, creds: Credentials, opts: LoginOptions = {}): Promise<void> {
  const host = loginHost(server);
  if (!creds.username && !creds.identityToken) throw new ImageError('login needs a user name', 'invalid_credentials');
  const client = new RegistryClient(host, { ...opts, credentials: creds });
  try {
    await client.checkLogin();
  } finally {
    await client.close();
  }
}

/** `login`: verifies, then stores the credentials (config.json, mode 0600). Returns docker's status. */
export async function login(server: string | undefined, creds: Credentials, opts: LoginOptions = {}): Promise<{ host: string; status: string; configPath: string }> {
  const host = loginHost(server);
  await verifyCredentials(host, creds, opts);
  const configPath = opts.dockerConfig ?? dockerConfigPath();
  await storeCredentials(host, creds, configPath);
  return { host, status: 'Login Succeeded', configPath };
}

/** `logout`: removes stored credentials; `removed` is false when there were none. */
export async function logout(server: string | undefined, opts: { dockerConfig?: string } = {}): Promise<{ host: string; removed: boolean }> {
  const host = loginHost(server);
  const removed = await removeCredentials(host, opts.dockerConfig ?? dockerConfigPath());
  return { host, removed };
}
