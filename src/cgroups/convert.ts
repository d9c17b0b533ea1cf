// Unit conversions between OCI (cgroup v1 flavoured) values and cgroup v2 files, as runc and crun
// do them, plus the list format of cpuset files.

/** cpu.shares (2..262144) -> cpu.weight (1..10000); 0 (unset) stays 0. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) -> io.weight (1..10000); 0 (unset) stays 0. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (the v1 memsw semantics); v2's memory.swap.max is swap alone.
 * Returns the memory.swap.max value: -1 = "max", 0 = leave unset, else bytes of swap.
 * `limit` is the memory limit in force (-1 or 0 when there is none).
 */
export function swapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1; // unlimited memory and swap not given: unlimited swap
  if (swap === -1 || swap === 0) return swap;
  if (limit <= 0) throw new RangeError('a swap limit needs a memory limit');
  if (swap < limit) throw new RangeError('memory+swap must be >= the memory limit');
  return swap - limit;
}

/** A value beyond 2^53 (JSON's int64 max, "unlimited") or -1 becomes the file's "max". */
export function isUnlimited(v: number): boolean {
  return v === -1 || v > Number.MAX_SAFE_INTEGER;
}

/** Parse a cpuset list ("0-3,8,10-11") into its ids; throws RangeError on bad syntax. */
export function parseIdList(text: string): number[] {
  const out: number[] = [];
  const t = text.trim();
  if (t === '') return out;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RangeError(`"${part}" is not a number or a range like 0-3`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new RangeError(`range "${part}" is reversed`);
    if (hi - lo > 65536) throw new RangeError(`range "${part}" is too large`);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}
