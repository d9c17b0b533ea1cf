// Image references with docker's normalisation:
//   busybox                         -> docker.io/library/busybox:latest
//   localhost:5000/ns/app:1.0       -> localhost:5000/ns/app:1.0
//   app@sha256:<hex>                -> docker.io/library/app@sha256:<hex>
//   app:1.0@sha256:<hex>            -> keeps both; the digest decides what is pulled
// and the familiar (short) form for display: docker.io/library/busybox:latest -> busybox:latest.
// The grammar is distribution/reference's.
import { InvalidDigestError, InvalidReferenceError } from './errors.js';
import { parseDigest } from './digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

export interface Reference {
  /** Registry host, with its port when given: "docker.io", "localhost:5000", "[::1]:5000". */
  domain: string;
  /** The repository path inside the registry: "library/busybox", "ns/app". */
  path: string;
  tag?: string;
  digest?: string;
}

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const ID_RE = /^[a-f0-9]{64}$/;

function bad(input: string, why: string): InvalidReferenceError {
  return new InvalidReferenceError(`invalid reference format "${input.slice(0, 300)}": ${why}`);
}

/** Splits "name" into registry domain and path the way docker does. */
function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

export interface ParseOptions {
  /** Add ":latest" when neither tag nor digest is given (default true). */
  defaultTag?: boolean;
}

/** Parses a user-given reference and normalises it; throws InvalidReferenceError. */
export function parseReference(input: string, opts: ParseOptions = {}): Reference {
  if (typeof input !== 'string' || input === '') throw new InvalidReferenceError('invalid reference format: the image name is empty');
  if (input.length > 4096) throw bad(input, 'too long');
  if (ID_RE.test(input)) {
    throw bad(input, 'a repository name cannot be a 64-character hexadecimal string (use the image ID with "sha256:" or a name)');
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (e) {
      if (e instanceof InvalidDigestError) throw bad(input, e.message);
      throw e;
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      throw bad(input, `invalid tag "${tag.slice(0, 200)}": a tag has 1 to 128 letters, digits, "_", "." or "-" and does not start with "." or "-"`);
    }
  }
  if (rest === '') throw bad(input, 'the repository name is empty');
  const { domain, path } = splitDomain(rest);
  if (path.toLowerCase() !== path) throw bad(input, `repository name "${path}" must be lowercase`);
  if (!DOMAIN_RE.test(domain)) throw bad(input, `invalid registry host "${domain}"`);
  if (!PATH_RE.test(path)) {
    throw bad(input, `invalid repository name "${path}": use lowercase letters, digits and separators ("." "_" "__" "-"), components separated by "/"`);
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw bad(input, `repository name must not be longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return ref;
}

/** Parses a repository name alone (no tag, no digest). */
export function parseRepository(input: string): Reference {
  const ref = parseReference(input, { defaultTag: false });
  if (ref.tag !== undefined || ref.digest !== undefined) throw bad(input, 'expected a repository name without tag or digest');
  return ref;
}

/** True when a string parses as a reference. */
export function isReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/** "docker.io/library/busybox" */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalised form: "docker.io/library/busybox:latest", "host/x@sha256:..", "host/x:t@sha256:..". */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Normalises a user-given reference string (adds docker.io/library/ and :latest). */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short repository name docker shows: "busybox", "user/app", "localhost:5000/app". */
export function familiarRepository(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
    return ref.path.slice(OFFICIAL_REPO_PREFIX.length);
  }
  return ref.path;
}

/** The short form docker shows: "busybox:latest", "user/app@sha256:...". */
export function familiarString(ref: Reference): string {
  let s = familiarRepository(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The familiar form of a normalised reference string. */
export function familiarize(name: string): string {
  return familiarString(parseReference(name, { defaultTag: false }));
}

export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw bad(tag, 'invalid tag');
  return { domain: ref.domain, path: ref.path, tag };
}

export function withDigest(ref: Reference, digest: string): Reference {
  parseDigest(digest);
  return { domain: ref.domain, path: ref.path, digest };
}

/** The part the registry resolves: the digest when there is one, else the tag. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
