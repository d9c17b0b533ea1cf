// HTTP for registry clients, with undici: one connection pool per TLS setting, bounded retries
// with exponential backoff on network errors, 5xx and 429, redirects followed by hand (the
// Authorization header never follows a redirect to another origin), and capped body reads.
import { Agent, request, type Dispatcher } from 'undici';
import { Readable } from 'node:stream';
import { ImageError, IncompleteContentError } from '../errors.js';
import type { TlsOptions } from './hosts.js';

export interface HttpOptions {
  /** Extra attempts after a failure that may pass on retry (default 4). */
  retries?: number;
  /** First backoff delay in ms (default 250); doubles each time, with jitter. */
  retryBaseMs?: number;
  /** Longest backoff delay in ms (default 5000). */
  retryMaxMs?: number;
  userAgent?: string;
  /** Time to wait for response headers, and between body chunks (default 60 s each). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  url: string;
  headers?: Record<string, string>;
  /** A Buffer, or a factory so that a retry can send the body again. */
  body?: Buffer | string | (() => Readable);
  /** Retry on failure (default: GET and HEAD only). */
  retry?: boolean;
  /** Follow redirects (default: GET and HEAD). */
  redirect?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: string;
}

/** A registry answered with an error status. */
export class RegistryHttpError extends ImageError {
  override name = 'RegistryHttpError';
  constructor(
    message: string,
    readonly status: number,
    readonly errors: { code: string; message: string }[] = [],
  ) {
    super(message, status === 401 || status === 403 ? 'unauthorized' : status === 404 ? 'not_found' : 'registry_error');
  }
}

const RETRY_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Whether a failure may pass on a later attempt (network trouble, 5xx, 429, a cut download). */
export function isRetryable(e: unknown): boolean {
  if (e instanceof IncompleteContentError) return true;
  if (e instanceof RegistryHttpError) return e.status >= 500 || e.status === 429 || e.status === 408;
  if (e instanceof ImageError) return false;
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as NodeJS.ErrnoException).code;
    if (code && RETRY_CODES.has(code)) return true;
    if ((cur as Error).name === 'AbortError') return false;
    cur = (cur as { cause?: unknown }).cause;
  }
  return e instanceof Error && /other side closed|socket hang up|premature close|terminated/i.test(e.message);
}

/** Sleeps before attempt `attempt` (1-based): base * 2^(attempt-1), jittered, capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(d / 2 + Math.random() * (d / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      rej(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function header(res: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a whole body, refusing more than max bytes (the connection is dropped then). */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const len = Number(header(res, 'content-length'));
  if (Number.isFinite(len) && len > max) {
    res.body.destroy();
    throw new ImageError(`${what}: the registry sent ${len} bytes, more than the limit of ${max}`, 'too_large');
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > max) {
      res.body.destroy();
      throw new ImageError(`${what}: the registry sent more than the limit of ${max} bytes`, 'too_large');
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Turns an error response into a RegistryHttpError with the registry's own error codes. */
export async function errorFromResponse(res: HttpResponse, what: string): Promise<RegistryHttpError> {
  let errors: { code: string; message: string }[] = [];
  try {
    const text = (await readBody(res, 64 * 1024, what)).toString('utf8');
    const v = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(v.errors)) {
      errors = v.errors.slice(0, 10).map((x) => ({ code: String(x.code ?? '').slice(0, 100), message: String(x.message ?? '').slice(0, 500) }));
    }
  } catch {
    res.body.destroy();
  }
  const detail = errors.length ? `: ${errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ')}` : '';
  let hint = '';
  if (res.status === 401) hint = ' (authentication required: log in with `berth login`)';
  else if (res.status === 403) hint = ' (denied: the credentials lack permission)';
  return new RegistryHttpError(`${what}: HTTP ${res.status}${detail}${hint}`, res.status, errors);
}

export class HttpClient {
  private readonly agent: Agent;
  readonly retries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;

  constructor(tls: TlsOptions, readonly opts: HttpOptions = {}) {
    const timeout = opts.timeoutMs ?? 60_000;
    const connect: Record<string, unknown> = { rejectUnauthorized: tls.rejectUnauthorized, timeout: Math.min(timeout, 30_000) };
    if (tls.ca) connect['ca'] = tls.ca;
    if (tls.cert) connect['cert'] = tls.cert;
    if (tls.key) connect['key'] = tls.key;
    this.agent = new Agent({ connect, headersTimeout: timeout, bodyTimeout: timeout, connections: 8 });
    this.retries = opts.retries ?? 4;
    this.retryBaseMs = opts.retryBaseMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 5000;
  }

  /** Runs fn with bounded retries on retryable failures. */
  async withRetries<T>(fn: (attempt: number) => Promise<T>, onRetry?: (e: unknown, attempt: number) => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (e) {
        if (attempt >= this.retries || !isRetryable(e) || this.opts.signal?.aborted) throw e;
        onRetry?.(e, attempt + 1);
        let delay = backoffDelay(attempt + 1, this.retryBaseMs, this.retryMaxMs);
        const ra = (e as { retryAfterMs?: number }).retryAfterMs;
        if (ra !== undefined) delay = Math.min(Math.max(delay, ra), this.retryMaxMs * 2);
        await sleep(delay, this.opts.signal);
      }
    }
  }

  /** One request; retried (when allowed) on network errors and on 5xx/429 answers. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    const retry = req.retry ?? idempotent;
    const run = async (): Promise<HttpResponse> => {
      const res = await this.sendOnce(req);
      if (retry && (res.status >= 500 || res.status === 429)) {
        const err = await errorFromResponse(res, `${req.method} ${redactUrl(res.url)}`);
        const ra = Number(header(res, 'retry-after'));
        if (Number.isFinite(ra)) (err as unknown as { retryAfterMs: number }).retryAfterMs = ra * 1000;
        throw err;
      }
      return res;
    };
    return retry ? this.withRetries(run) : run();
  }

  private async sendOnce(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { 'user-agent': this.opts.userAgent ?? 'berth/0.1', ...(req.headers ?? {}) };
    const follow = req.redirect ?? (req.method === 'GET' || req.method === 'HEAD');
    for (let hop = 0; ; hop++) {
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const res = await request(url, {
        method: req.method,
        headers,
        body: body ?? null,
        dispatcher: this.agent,
        signal: this.opts.signal ?? null,
      });
      const location = header({ headers: res.headers }, 'location');
      if (follow && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
        await res.body.dump();
        if (hop >= 5) throw new ImageError(`too many redirects from ${redactUrl(req.url)}`, 'redirect_loop');
        const next = new URL(location, url);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new ImageError(`refusing a redirect to ${next.protocol}`, 'bad_redirect');
        if (next.origin !== new URL(url).origin) {
          // credentials stay with the registry; a storage backend gets a signed URL instead
          const { authorization: _a, ...rest } = headers as Record<string, string>;
          headers = rest as typeof headers;
        }
        url = next.toString();
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** A URL without its query string (which may hold upload state or signed tokens). */
export function redactUrl(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : url.slice(0, i);
}
