// Which command this process ran, for bin/berth's warm code cache (bin/load-bundle.cjs): the
// cache made at the end of a successful `run` holds the functions it compiled, so later
// commands start with them compiled. It is written once, so the verb that writes it decides
// what every later command finds: `run` is the hot path that compiles most (the store, lookup,
// reconcile, create, start, attach: what ps, exec, start, stop, rm and inspect share); a cache
// made by `ps` or `inspect` was hardly bigger than the cold one (355 vs 340 KB, against 630) and
// would have stayed so. Never after a pull, a build or an image verb: code most commands never
// run, a cache slower to load than that code is to compile.
// A run that set up a network (the default bridge, a user network) also compiled the network
// code: its cache replaces a warm one made by a `--network none|host` run, once (level 2), so the
// default run path is not left compiling that code cold at every start.
const HOT = new Set(['run']);
const NO_NETWORK_CODE = /^(none|host|container:.*)$/;

let command = '';
let pulled = false;
let networked = false;

/** main(): the command about to run (its path, e.g. `run` or `volume ls`). */
export function noteCommand(path: string): void {
  command = path;
}

/** main(): this command pulls an image (its cache would carry the registry client's code). */
export function notePull(): void {
  pulled = true;
}

/** The run's --network (undefined: the default bridge). */
export function noteNetwork(mode: string | undefined): void {
  networked = mode === undefined || !NO_NETWORK_CODE.test(mode);
}

/**
 * bin/berth, after the command returned `code`: which warm code cache to write now (0: none,
 * 1: after a run, 2: after a run that set up a network; bin/load-bundle.cjs saveWarmCaches).
 */
export function warmCacheWanted(code: number): 0 | 1 | 2 {
  if (code !== 0 || !HOT.has(command) || pulled) return 0;
  return networked ? 2 : 1;
}
