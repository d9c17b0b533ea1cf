// Which command this process ran, for bin/berth's warm code cache (bin/load-bundle.cjs): the
// cache made at the end of a successful `run` holds the functions it compiled, so later
// commands start with them compiled. It is written once, so the verb that writes it decides
// what every later command finds: `run` is the hot path that compiles most (the store, lookup,
// reconcile, create, start, attach: what ps, exec, start, stop, rm and inspect share); a cache
// made by `ps` or `inspect` was hardly bigger than the cold one (355 vs 340 KB, against 630) and
// would have stayed so. Never after a pull, a build or an image verb: code most commands never
// run, a cache slower to load than that code is to compile.
const HOT = new Set(['run']);

let command = '';
let pulled = false;

/** main(): the command about to run (its path, e.g. `run` or `volume ls`). */
export function noteCommand(path: string): void {
  command = path;
}

/** main(): this command pulls an image (its cache would carry the registry client's code). */
export function notePull(): void {
  pulled = true;
}

/** bin/berth, after the command returned `code`: whether to write the warm code cache now. */
export function warmCacheWanted(code: number): boolean {
  return code === 0 && HOT.has(command) && !pulled;
}
