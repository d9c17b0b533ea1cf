// NODE_EXTRA_CA_CERTS, deferred. node parses that file at every start-up (90 ms here, where it
// names the whole system bundle), so bin/berth starts node without it and passes the path on as
// BERTH_EXTRA_CA_CERTS; the registry client adds the certificates itself, only when it connects.
import { readFileSync } from 'node:fs';

let cached: Buffer[] | undefined;

/** The certificates of BERTH_EXTRA_CA_CERTS (none when unset; a warning when unreadable). */
export function deferredExtraCa(warn: (m: string) => void = (m) => process.stderr.write(`WARNING: ${m}\n`)): Buffer[] {
  if (cached) return cached;
  const file = process.env.BERTH_EXTRA_CA_CERTS;
  cached = [];
  if (file) {
    try {
      cached = [readFileSync(file)];
    } catch (e) {
      // node itself only warns for an unreadable NODE_EXTRA_CA_CERTS
      warn(`ignoring extra certs from ${file} (NODE_EXTRA_CA_CERTS): ${(e as Error).message}`);
    }
  }
  return cached;
}
