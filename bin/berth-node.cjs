// The CLI in node: run by bin/berth (native/berth-prestart.c) with its arguments, or, in a node
// process started ahead (BERTH_PRESTARTED: the listener's descriptor), with the arguments of
// the next command handed over to it (src/cli/berth/prestarted.ts). bin/berth starts node
// without NODE_EXTRA_CA_CERTS: node parses that file at every start (90 ms here, where it is the
// whole system bundle); the registry client adds it when it connects (BERTH_EXTRA_CA_CERTS,
// src/image/registry/extra-ca.ts).
// CommonJS (bin/package.json) loading the CLI's CommonJS bundle (scripts/bundle-cli.mjs: an entry
// file and chunks loaded on first use) through V8 code caches (load-bundle.cjs), like berth-oci:
// the fastest way for node to start the CLI.
const { loadBundle, saveWarmCaches } = require('./load-bundle.cjs');
const cli = loadBundle(require('node:path').join(__dirname, '../dist/bundle/cjs/berth.cjs'));
const fd = process.env.BERTH_PRESTARTED;
const argv = fd ? cli.awaitPrestartedCommand(Number(fd), __filename) : Promise.resolve(process.argv.slice(2));
argv.then((args) => cli.main(args, { keepStoreOpen: true })).then((code) => {
  // the first hot command that succeeds leaves the code it compiled in the code caches
  // (load-bundle.cjs, src/cli/berth/hot-command.ts)
  const level = cli.warmCacheWanted?.(code);
  if (level) saveWarmCaches(level);
  if (fd) cli.reportPrestartedExit(Number(fd), code);
  // exit now: the store stays open (no WAL checkpoint at exit, see main()); stdout and stderr
  // are synchronous on Linux (files, pipes, sockets, terminals), so nothing written is lost
  process.exit(code);
});
