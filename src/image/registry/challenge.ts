// WWW-Authenticate parsing (RFC 7235): `Bearer realm="https://auth/token",service="reg",
// scope="repository:x:pull"`, `Basic realm="Registry"`, several challenges in one header.

export interface Challenge {
  /** Lowercased scheme: "bearer", "basic", ... */
  scheme: string;
  /** Parameters with lowercased names. */
  params: Record<string, string>;
}

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** Parses one or more WWW-Authenticate header values into challenges (malformed parts dropped). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    if (value.length > 16384) continue; // hostile: refuse to parse absurd headers
    let s = value;
    let current: Challenge | undefined;
    for (;;) {
      s = s.replace(/^[\s,]+/, '');
      if (s === '') break;
      const tok = TOKEN_RE.exec(s);
      if (!tok) break; // garbage: stop here
      const word = tok[0];
      const after = s.slice(word.length);
      const eq = /^\s*=/.exec(after);
      if (eq && current && !/^\s*==*\s*(?:,|$)/.test(after)) {
        // auth-param: name = token | quoted-string
        let rest = after.slice(eq[0].length).replace(/^\s+/, '');
        let val: string;
        if (rest.startsWith('"')) {
          let i = 1;
          val = '';
          while (i < rest.length && rest[i] !== '"') {
            if (rest[i] === '\\' && i + 1 < rest.length) i++;
            val += rest[i];
            i++;
          }
          rest = rest.slice(i + 1);
        } else {
          const m = /^[^\s,]*/.exec(rest)!;
          val = m[0];
          rest = rest.slice(m[0].length);
        }
        current.params[word.toLowerCase()] = val;
        s = rest;
        continue;
      }
      // a new challenge: scheme [token68 | params]
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = after;
      const t68 = /^\s+([A-Za-z0-9._~+/-]+=*)\s*(?:,|$)/.exec(s);
      if (t68 && !/^\s+[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=[^=]/.test(s)) {
        current.params['token68'] = t68[1]!;
        s = s.slice(t68[0].length);
      }
    }
  }
  return out;
}

/** The preferred challenge: Bearer over Basic; undefined when neither is offered. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
