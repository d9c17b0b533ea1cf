// Loads a CLI bundle (dist/bundle/cjs/*.cjs, scripts/bundle-cli.mjs) through a V8 code cache
// kept beside each file: compiling the ~2 MB `berth` bundle cost 40-70 ms of every command here
// (most of `berth exec`'s own time); deserializing its cache costs a few. Two kinds of cache:
// a "cold" one, made once the file's top level has run (before the command: the same functions
// whatever command made it), and a "warm" one (`.warm.v8cache`), made once at the end of the
// first hot command that succeeds (saveWarmCaches(), called by bin/berth after a `run`; once more
// as `.warm-net.v8cache` after the first run that set up a network, when the first had not), so
// it also holds the functions that command compiled on first call (compiling them lazily at
// every command was the largest JS cost left: ~20% of a `run --rm` here). A warm cache is written
// once and never replaced (so its content stays that of a hot verb): not after a pull or a
// failing command (a cache made at the end of a pull grew to 1.3 MB and took longer to
// deserialize than the bundle takes to compile). Caches are named for the file's size and
// mtime: a rebuilt file never meets a stale cache (V8 itself only checks the source length);
// one V8 rejects (another node, other flags) is replaced. Node 20 has no
// module.enableCompileCache. A bundle is an entry file and chunks that it and they require as
// `./name.cjs` (loaded on first use, each once); chunks that always load together with a file
// travel inside it (`require.berthPack`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');

// Chunks loaded in this process, by path: each runs once, as require() would (the chunks of a
// bundle require each other; scripts/bundle-cli.mjs).
const loaded = new Map();

// Chunks that travel inside another file (scripts/bundle-cli.mjs: require.berthPack), by path.
const packed = new Map();

/** Runs the bundle `file` as a CommonJS module and returns its exports. */
function loadBundle(file) {
  const done = loaded.get(file);
  if (done) return done.exports;
  const def = packed.get(file);
  if (def) return runModule(file, def);
  const source = fs.readFileSync(file, 'utf8');
  const st = fs.statSync(file);
  const dir = path.dirname(file);
  const base = path.basename(file);
  const stem = path.join(dir, `.${base}.${st.size}-${Math.trunc(st.mtimeMs)}`);
  const cacheFile = `${stem}.v8cache`;
  // the warmest cache there is: level 2 (made by a run that set up a network), 1 (any run), cold
  const warmFiles = [`${stem}.warm.v8cache`, `${stem}.warm-net.v8cache`];
  let level = 2;
  let cachedData = readOr(warmFiles[1]);
  if (!cachedData) (level = 1), (cachedData = readOr(warmFiles[0]));
  if (!cachedData) (level = 0), (cachedData = readOr(cacheFile));
  // no importModuleDynamically: the bundles contain no import() (scripts/build.mjs turns them
  // into require())
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const exports = runModule(file, script.runInThisContext());
  if (!cachedData || script.cachedDataRejected) saveCache(script, dir, base, cacheFile);
  if (level < 2 || script.cachedDataRejected) unwarmed.set(file, { script, dir, cacheFile, warmFiles, level: script.cachedDataRejected ? 0 : level });
  return exports;
}

function readOr(f) {
  try {
    return fs.readFileSync(f);
  } catch {
    return undefined; // none yet
  }
}

// Files loaded in this process without the warmest cache V8 accepted: saveWarmCaches() writes theirs.
const unwarmed = new Map();

/**
 * Writes the warm cache of `level` (1 after a run, 2 after a run that set up a network;
 * src/cli/berth/hot-command.ts) of every bundle file this process loaded with a colder one
 * (bin/berth: after a hot command succeeded). Once per file and level: a cache another process
 * wrote first stays (parallel commands write the same kind of content; the rename is atomic, a
 * reader sees a whole file). The colder caches of the file go: the warm one replaces them.
 */
function saveWarmCaches(level = 1) {
  for (const { script, dir, cacheFile, warmFiles, level: had } of unwarmed.values()) {
    if (had >= level) continue;
    try {
      fs.accessSync(dir, fs.constants.W_OK); // a read-only install (or a non-root user): none
      const warmFile = warmFiles[level - 1];
      if (fs.existsSync(warmFile) && !script.cachedDataRejected) continue;
      const tmp = `${warmFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, warmFile);
      fs.rmSync(cacheFile, { force: true });
      if (level === 2) fs.rmSync(warmFiles[0], { force: true });
    } catch {
      /* keep the colder cache */
    }
  }
  unwarmed.clear();
}

/** Runs `fn` (a CommonJS module's wrapper) as the module `file`, once. */
function runModule(file, fn) {
  const dir = path.dirname(file);
  const { require, paths } = dirRequire(dir);
  const mod = new Module(file, null);
  mod.filename = file;
  mod.paths = paths;
  loaded.set(file, mod);
  fn.call(mod.exports, mod.exports, require, mod, file, dir);
  mod.loaded = true;
  return mod.exports;
}

// One require per directory (a bundle's files share theirs): ~30 modules run at a start.
const dirRequires = new Map();

/** node's require for files in `dir`, except that the bundle's own chunks (`./x.cjs`) load through loadBundle. */
function dirRequire(dir) {
  let r = dirRequires.get(dir);
  if (r) return r;
  const real = Module.createRequire(path.join(dir, '[bundle]'));
  // `./name.cjs` only (no `..`, no subdirectory): its path is dir + name, nothing to normalize
  const chunk = (id) => `${dir}/${id.slice(2)}`;
  const req = (id) => (id.startsWith('./') && id.endsWith('.cjs') && !id.includes('/', 2) ? loadBundle(chunk(id)) : real(id));
  const berthPack = (defs) => {
    for (const id of Object.keys(defs)) if (!packed.has(chunk(id))) packed.set(chunk(id), defs[id]);
  };
  r = { require: Object.assign(req, real, { berthPack }), paths: Module._nodeModulePaths(dir) };
  dirRequires.set(dir, r);
  return r;
}

function saveCache(script, dir, base, cacheFile) {
  try {
    fs.accessSync(dir, fs.constants.W_OK); // a read-only install (or a non-root user): no cache
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile); // atomic: a parallel run reads the old cache or the new one
    // the caches of older versions of the file, and a warm cache V8 rejected (another node)
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`.${base}.`) && f.endsWith('.v8cache') && f !== path.basename(cacheFile)) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    /* run without a cache */
  }
}

/** The bundle files this process has loaded (tests: what a command reads at start). */
const loadedFiles = () => [...loaded.keys()].filter((f) => !packed.has(f));

module.exports = { loadBundle, loadedFiles, saveWarmCaches };
