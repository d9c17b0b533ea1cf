// docker's detach keys (the CLI's attach and exec -it, the library's attach and exec): the
// spec's bytes, and the key sequence found in chunks split anywhere.

/** docker's detach-keys spec ("ctrl-p,ctrl-q", "ctrl-x,y", "a,b") as bytes; null when a key is not one. */
export function detachKeyBytes(spec: string): number[] | null {
  const out: number[] = [];
  for (const k of spec.split(',')) {
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
    if (m) out.push(m[1]!.charCodeAt(0) & 0x1f);
    else if (k.length === 1) out.push(k.charCodeAt(0));
    else return null;
  }
  return out;
}

/**
 * Returns a function fed each chunk of input: what to forward, and whether the sequence was
 * typed. A partial sequence at a chunk's end is held back until the next chunk tells whether
 * it was the sequence or input (then forwarded), as docker does.
 */
export function detachScanner(keys: number[]): (d: Buffer) => { forward: Buffer; detach: boolean } {
  let matched = 0;
  return (d) => {
    const out: number[] = [];
    for (const b of d) {
      if (b === keys[matched]) {
        if (++matched === keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      for (let i = 0; i < matched; i++) out.push(keys[i]!);
      matched = b === keys[0] ? 1 : 0;
      if (!matched) out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  };
}
