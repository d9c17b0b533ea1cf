// Registry authorization: the challenge from /v2/ (or from any 401) decides between Bearer
// tokens (fetched from the realm, anonymously or with credentials, cached per scope set until
// they expire) and Basic auth.
import { ImageError } from '../errors.js';
import { parseChallenges, pickChallenge, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { errorFromResponse, header, readBody, redactUrl, type HttpClient } from './http.js';
import { isLoopbackHost } from './hosts.js';

/** A 401/403 from a registry or its token service. */
export class AuthError extends ImageError {
  override name = 'AuthError';
  constructor(message: string) {
    super(message, 'unauthorized');
  }
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** "repository:ns/app:pull,push" */
export function repositoryScope(path: string, actions: string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

/** Merges scopes of one resource ("repository:x:pull" + "repository:x:push" -> "repository:x:pull,push"). */
export function mergeScopes(scopes: string[]): string[] {
  const m = new Map<string, Set<string>>();
  for (const s of scopes) {
    const i = s.lastIndexOf(':');
    if (i <= 0) continue;
    const key = s.slice(0, i);
    const set = m.get(key) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(',')) if (a) set.add(a);
    m.set(key, set);
  }
  return [...m].map(([k, v]) => `${k}:${[...v].sort().join(',')}`).sort();
}

export class Authorizer {
  challenge: Challenge | undefined;
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(
    private readonly http: HttpClient,
    private readonly credentials: Credentials | undefined,
    /** Whether the registry itself is plain HTTP / insecure (then an http realm is tolerated). */
    private readonly insecure: boolean,
  ) {}

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** Records the challenge of a 401; returns whether it changed what we would send. */
  noteChallenge(wwwAuthenticate: string | string[] | undefined): { changed: boolean; scope?: string } {
    const c = pickChallenge(parseChallenges(wwwAuthenticate));
    if (!c) return { changed: false };
    const changed = !this.challenge || this.challenge.scheme !== c.scheme || this.challenge.params['realm'] !== c.params['realm'];
    this.challenge = c;
    const out: { changed: boolean; scope?: string } = { changed };
    if (c.params['scope']) out.scope = c.params['scope'];
    return out;
  }

  /** Drops cached tokens for a scope set (after a 401 with a token). */
  invalidate(scopes: string[]): void {
    this.tokens.delete(mergeScopes(scopes).join(' '));
  }

  /** The Authorization header for a request needing `scopes`, or undefined (anonymous). */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.credentials ? basicAuth(this.credentials) : undefined;
    if (c.scheme !== 'bearer') return undefined;
    const merged = mergeScopes(scopes);
    const key = merged.join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const { token, expiresIn } = await this.fetchToken(c, merged);
    this.tokens.set(key, { token, expires: Date.now() + Math.max(60, expiresIn - 10) * 1000 });
    return `Bearer ${token}`;
  }

  private async fetchToken(c: Challenge, scopes: string[]): Promise<{ token: string; expiresIn: number }> {
    const realm = c.params['realm'];
    if (!realm) throw new AuthError('the registry asked for a Bearer token but named no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new AuthError(`the registry's token realm "${realm.slice(0, 200)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (this.insecure || isLoopbackHost(url.host)))) {
      throw new AuthError(`refusing to send credentials to the token realm ${redactUrl(realm)}: it is not HTTPS`);
    }
    const service = c.params['service'];
    const creds = this.credentials;
    let res;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.http.send({
        method: 'POST', url: url.toString(), retry: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds) url.searchParams.set('account', creds.username);
      const headers: Record<string, string> = {};
      if (creds) headers['authorization'] = basicAuth(creds);
      res = await this.http.send({ method: 'GET', url: url.toString(), headers });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body.dump();
      throw new AuthError(
        creds
          ? `the token service at ${redactUrl(realm)} refused the credentials for ${creds.username || 'this registry'} (HTTP ${res.status}): check the user name and password`
          : `the token service at ${redactUrl(realm)} refused anonymous access (HTTP ${res.status}): log in with \`berth login\``,
      );
    }
    if (res.status !== 200) throw await errorFromResponse(res, `token request to ${redactUrl(realm)}`);
    const body = await readBody(res, MAX_TOKEN_RESPONSE, 'token response');
    let v: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      v = JSON.parse(body.toString('utf8')) as typeof v;
    } catch {
      throw new AuthError(`the token service at ${redactUrl(realm)} answered with invalid JSON (content-type ${header(res, 'content-type') ?? 'none'})`);
    }
    const token = typeof v.token === 'string' && v.token ? v.token : typeof v.access_token === 'string' ? v.access_token : '';
    if (!token || token.length > 64 * 1024 || /[\r\n]/.test(token)) throw new AuthError(`the token service at ${redactUrl(realm)} returned no usable token`);
    const expiresIn = typeof v.expires_in === 'number' && v.expires_in > 0 ? v.expires_in : 60;
    return { token, expiresIn };
  }
}
