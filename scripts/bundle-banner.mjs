// The first lines of each CLI bundle (scripts/build.mjs).
//
// 1. import.meta.url for the bundled ES modules (esbuild defines it as __berthModuleUrl).
// 2. Heavy node built-ins load on first use, not at start: esbuild turns `import { x } from
//    'node:crypto'` into a `require` at the top of the bundle and every use into a property read
//    (`import_node_crypto.x`), so a module object that requires the real one on its first property
//    read is transparent. crypto, zlib and fs/promises (which pulls in readline) cost several ms
//    of every command and most commands never touch them; the registry client's http/tls/dns
//    only run for pulls and pushes.
//    child_process, os, net and stream (with dgram, tty, string_decoder behind them) were ~5 ms of
//    every `berth` command's start, though `version`, `ps` and the like never spawn or connect.
export const LAZY_BUILTINS = [
  'node:crypto', 'crypto', 'node:zlib', 'zlib', 'node:fs/promises', 'fs/promises', 'node:readline', 'node:http', 'node:https',
  'node:tls', 'node:dns', 'node:worker_threads', 'node:perf_hooks', 'node:sqlite', 'node:querystring', 'node:http2',
  'node:child_process', 'child_process', 'node:os', 'os', 'node:net', 'net', 'node:stream', 'stream', 'node:stream/promises',
  'stream/promises', 'node:dgram', 'node:tty', 'tty', 'node:string_decoder', 'string_decoder',
];

const lazyRequire = `require = ((real) => {
  const lazy = new Set(${JSON.stringify(LAZY_BUILTINS)});
  const proxy = (id) => {
    let m;
    const load = () => (m ??= real(id));
    return new Proxy({}, {
      get: (_, k) => load()[k],
      set: (_, k, v) => ((load()[k] = v), true),
      has: (_, k) => k in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, k) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), k);
        if (d) d.configurable = true;
        return d;
      },
    });
  };
  return Object.assign((id) => (lazy.has(id) ? proxy(id) : real(id)), real);
})(require);`;

// import.meta.url of each module: ~30 modules run at a start and pathToFileURL (path.resolve,
// percent-encoding) cost ~0.1 ms each; a bundle's files share a directory and have plain names.
const moduleUrl = `const __berthModuleUrl = ((f) => {
  const i = f.lastIndexOf('/') + 1;
  if (!/^[\\w.-]+$/.test(f.slice(i))) return require('node:url').pathToFileURL(f).href;
  const dirs = (globalThis[Symbol.for('berth.dirUrls')] ??= new Map());
  let d = dirs.get(f.slice(0, i));
  if (d === undefined) dirs.set(f.slice(0, i), (d = require('node:url').pathToFileURL(f.slice(0, i)).href));
  return d + f.slice(i);
})(__filename);`;

export const BANNER = `${moduleUrl}\n${lazyRequire}`;
