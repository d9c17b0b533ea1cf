// Loads a CLI bundle (dist/bundle/cjs/*.cjs) through a V8 code cache kept beside it: compiling
// the ~2 MB `berth` bundle cost 40-70 ms of every command here (most of `berth exec`'s own
// time); deserializing its cache costs a few. The cache is made once the bundle's top level has
// run (before the command), so it holds the same functions whatever command made it: a cache
// made at the end of a long command (a pull) grew to 1.3 MB and took longer to deserialize than
// the bundle takes to compile. It is named for the bundle's size and mtime: a rebuilt bundle
// never meets a stale cache (V8 itself only checks the source length); one V8 rejects (another
// node, other flags) is replaced. Node 20 has no module.enableCompileCache.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');

/** Runs the bundle `file` as a CommonJS module and returns its exports. */
function loadBundle(file) {
  const source = fs.readFileSync(file, 'utf8');
  const st = fs.statSync(file);
  const dir = path.dirname(file);
  const base = path.basename(file);
  const cacheFile = path.join(dir, `.${base}.${st.size}-${Math.trunc(st.mtimeMs)}.v8cache`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    /* none yet */
  }
  // no importModuleDynamically: the bundles contain no import() (scripts/build.mjs turns them
  // into require())
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const fn = script.runInThisContext();
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dir);
  mod.loaded = true;
  fn.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dir);
  if (!cachedData || script.cachedDataRejected) saveCache(script, dir, base, cacheFile);
  return mod.exports;
}

function saveCache(script, dir, base, cacheFile) {
  try {
    fs.accessSync(dir, fs.constants.W_OK); // a read-only install (or a non-root user): no cache
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile); // atomic: a parallel run reads the old cache or the new one
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`.${base}.`) && f.endsWith('.v8cache') && f !== path.basename(cacheFile)) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    /* run without a cache */
  }
}

module.exports = { loadBundle };
