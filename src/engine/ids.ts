// Container and volume ids (64 hex digits from the kernel's CSPRNG) and names.
import { closeSync, openSync, readSync } from 'node:fs';
import { ADJECTIVES, SURNAMES } from './names.js';

export const ID_RE = /^[0-9a-f]{64}$/;
/** Docker's rule for container and volume names. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Bytes from the kernel's CSPRNG (node:crypto costs ~7 ms to load on every CLI start). */
function random(n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, b, 0, n, null);
  } finally {
    closeSync(fd);
  }
  return b;
}

const randomInt = (max: number) => random(4).readUInt32LE(0) % max;

export function newId(): string {
  return random(32).toString('hex');
}

export const shortId = (id: string) => id.slice(0, 12);

/** A docker-style random name: adjective_surname (a digit is added on a retry). */
export function randomName(retry = 0): string {
  const n = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return retry > 0 ? `${n}${randomInt(10)}` : n;
}

export function validName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= 253;
}
