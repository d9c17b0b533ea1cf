// Bundles a CLI entry point into CommonJS files for bin/load-bundle.cjs (scripts/build.mjs).
//
// One file per CLI was ~2 MB for `berth`, half of it undici, and every command paid to read it
// and deserialize its code cache. esbuild splits code only for ESM output, and ESM chunks load
// slowly (30-60 ms of serial dynamic imports here), so: split as ESM — every `await import()` in
// the sources starts a chunk, loaded only when that line runs — then turn each chunk into
// CommonJS (esbuild transform: `import` becomes `require`, `import()` a `require` in a promise).
// bin/load-bundle.cjs loads the chunks (`require('./x.cjs')` from a chunk) through the same code
// cache as the entry. Each module is in exactly one chunk, so classes and module state are
// shared as in the sources (`instanceof EngineError` holds across chunks).
//
// Entry files keep their names (bin/ loads them); chunk names carry a hash of their content, so
// a changed chunk is a new file. Every file is written atomically at every build (a command
// starting during a build reads an old file or a new one, never half of one; the new mtime
// names a new code cache); chunks no build wrote for an hour are removed, so a command started
// before a build can still load the chunks it needs later.
import { build, transform } from 'esbuild';
import { readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BANNER } from './bundle-banner.mjs';

const KEEP_OLD_CHUNKS_MS = 60 * 60 * 1000;
const PACK_MAX_BYTES = 256 * 1024;

/** Writes `name` (an entry file) and its chunks into `outdir`; returns the names written. */
export async function bundleCli(entry, name, outdir) {
  const r = await build({
    entryPoints: { [name]: entry },
    bundle: true,
    format: 'esm',
    splitting: true,
    platform: 'node',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.cjs' },
    chunkNames: `${name}.[name]-[hash]`,
    entryNames: '[name]',
    define: { 'import.meta.url': '__berthModuleUrl' },
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const code = new Map(); // file name -> CommonJS code, without the banner
  for (const f of r.outputFiles) {
    const cjs = await transform(f.text, {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      loader: 'js',
      // import() becomes require(): bin/load-bundle.cjs runs the files through vm.Script
      supported: { 'dynamic-import': false },
      logLevel: 'warning',
    });
    code.set(basename(f.path), asciiOnly(cjs.code, basename(f.path)));
  }
  const entryFile = `${name}.cjs`;
  const outs = new Map(Object.entries(r.metafile.outputs).map(([k, v]) => [basename(k), v]));
  const files = new Map([...code].map(([file, js]) => [file, `${BANNER}\n${js}`]));
  const atStart = staticClosure(outs, entryFile);
  files.set(entryFile, `${BANNER}\n${packDefinitions(atStart, code)}${code.get(entryFile)}`);
  // a chunk loaded by `await import` carries the chunks it needs that the entry does not have,
  // up to a size: undici (1 MB) stays one file, not one copy in each registry verb's chunk
  const lazy = new Set([...outs.values()].flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => basename(i.path))).filter((f) => outs.has(f)));
  for (const f of lazy) {
    const extra = staticClosure(outs, f).filter((c) => !atStart.includes(c) && outs.get(c).bytes <= PACK_MAX_BYTES);
    files.set(f, `${BANNER}\n${packDefinitions(extra, code)}${code.get(f)}`);
  }
  for (const [file, js] of files) {
    const dest = join(outdir, file);
    const tmp = `${dest}.tmp-${process.pid}`;
    writeFileSync(tmp, js);
    renameSync(tmp, dest);
  }
  return [...files.keys()];
}

/**
 * `js` with every non-ASCII character written as a \u escape. esbuild escapes them in strings
 * and identifiers but leaves them in regular expressions (`/µs/`), and one such character makes
 * V8 hold the whole file as a two-byte string: the 880 KB verbs chunk was decoded into 1.75 MB
 * at every command (~1.5 ms). Left now are regular expressions and comments, where `\uXXXX`
 * means the character itself (a surrogate pair too, with or without the u flag); a character
 * after a backslash (`\µ`) would change meaning, so the build stops there instead.
 */
function asciiOnly(js, file) {
  return js.replace(/[^\x00-\x7f]/g, (c, at) => {
    let slashes = 0;
    while (js[at - 1 - slashes] === '\\') slashes++;
    if (slashes % 2) throw new Error(`${file}: an escaped non-ASCII character (${JSON.stringify(js.slice(at - 20, at + 20))}): write it as \\u${c.charCodeAt(0).toString(16).padStart(4, '0')} in the source`);
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * The chunks `file` requires at its top level, directly or not: whoever loads it loads them, so
 * they travel inside it (one read, one code cache, one compile instead of ~15 of each: ~3 ms).
 * They are still written as files of their own for requires that do not go through
 * bin/load-bundle.cjs, and for the other files that need them.
 */
function staticClosure(outs, file) {
  const seen = new Set();
  const todo = [file];
  while (todo.length) {
    for (const i of outs.get(todo.pop()).imports) {
      const f = basename(i.path);
      if (i.kind === 'import-statement' && outs.has(f) && !seen.has(f)) {
        seen.add(f);
        todo.push(f);
      }
    }
  }
  seen.delete(file);
  return [...seen].sort();
}

/**
 * `require.berthPack({ './chunk.cjs': function (exports, require, module, __filename, __dirname) {...} })`:
 * bin/load-bundle.cjs runs each as the module `./chunk.cjs` when it is first required (so once,
 * in require order, as if loaded from its file). Each carries the banner, like a chunk file.
 */
function packDefinitions(packed, code) {
  if (!packed.length) return '';
  const defs = packed.map((f) => `${JSON.stringify(`./${f}`)}: function (exports, require, module, __filename, __dirname) {\n${BANNER}\n${code.get(f)}\n}`);
  return `if (require.berthPack) require.berthPack({\n${defs.join(',\n')}\n});\n`;
}

/** Removes chunks of `name` that no build wrote in the last hour, and code caches of files gone. */
export function pruneOldChunks(outdir, name, current) {
  const keep = new Set(current);
  const now = Date.now();
  for (const f of readdirSync(outdir)) {
    if (!f.startsWith(`${name}.`) || !f.endsWith('.cjs') || keep.has(f)) continue;
    try {
      if (now - statSync(join(outdir, f)).mtimeMs > KEEP_OLD_CHUNKS_MS) rmSync(join(outdir, f), { force: true });
    } catch {
      /* removed meanwhile */
    }
  }
  const files = new Set(readdirSync(outdir));
  for (const f of files) {
    // .<file>.<size>-<mtime>[.warm|.warm-net].v8cache (bin/load-bundle.cjs)
    const m = /^\.(.+\.cjs)\.\d+-\d+(?:\.warm|\.warm-net)?\.v8cache$/.exec(f);
    if (m && !files.has(m[1])) rmSync(join(outdir, f), { force: true });
  }
}
