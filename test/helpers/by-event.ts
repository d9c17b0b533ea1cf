// A bound for waits that only an event can end in time (a `logs -f` follower whose safety poll is
// set to 60 s): generous, not a latency measurement.

/** p, or a failure after 20 s naming `what`. */
export async function byEvent<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no event woke the follower for ${what}`)), 20_000)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
