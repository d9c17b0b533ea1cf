// The first lines of each CLI bundle (scripts/build.mjs).
//
// 1. import.meta.url for the bundled ES modules (esbuild defines it as __berthModuleUrl).
// 2. Heavy node built-ins load on first use, not at start: esbuild turns `import { x } from
//    'node:crypto'` into a `require` at the top of the bundle and every use into a property read
//    (`import_node_crypto.x`), so a module object that requires the real one on its first property
//    read is transparent. crypto, zlib and fs/promises (which pulls in readline) cost several ms
//    of every command and most commands never touch them; the registry client's http/tls/dns
//    only run for pulls and pushes.
export const LAZY_BUILTINS = [
  'node:crypto', 'crypto', 'node:zlib', 'zlib', 'node:fs/promises', 'fs/promises', 'node:readline', 'node:http', 'node:https',
  'node:tls', 'node:dns', 'node:worker_threads', 'node:perf_hooks', 'node:sqlite', 'node:querystring', 'node:http2',
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

export const BANNER = `const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;\n${lazyRequire}`;
