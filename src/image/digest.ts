// Content digests ("sha256:<64 hex>"): parsing, validation and hashing.
import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './errors.js';

/** Algorithms berth verifies, with the length of their hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

// The OCI grammar: algorithm-component(separator algorithm-component)* ":" encoded
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses and validates a digest; throws InvalidDigestError naming the problem. */
export function parseDigest(digest: string): ParsedDigest {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) {
    throw new InvalidDigestError(`invalid digest "${String(digest).slice(0, 200)}": expected "sha256:" followed by 64 lowercase hex digits`);
  }
  const i = digest.indexOf(':');
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  if (!(algorithm in DIGEST_ALGORITHMS)) {
    throw new InvalidDigestError(`unsupported digest algorithm "${algorithm}" in ${digest.slice(0, 200)} (supported: sha256, sha512)`);
  }
  const len = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm];
  if (hex.length !== len || !/^[0-9a-f]+$/.test(hex)) {
    throw new InvalidDigestError(`invalid ${algorithm} digest "${digest.slice(0, 200)}": expected ${len} lowercase hex digits`);
  }
  return { algorithm: algorithm as DigestAlgorithm, hex };
}

export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** Validates and returns the digest unchanged (for use in expressions). */
export function checkDigest(digest: string): string {
  parseDigest(digest);
  return digest;
}

export function newHash(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** The digest of bytes (sha256 unless told). */
export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** The first 12 hex digits, as docker shows image and layer ids. */
export function shortId(digest: string): string {
  const i = digest.indexOf(':');
  return digest.slice(i + 1, i + 13);
}
