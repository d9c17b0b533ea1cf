// Every verb's table and the engine, for main.ts to load in one `await import` when a verb other
// than `version` runs: one chunk of the bundle, read and compiled as one file
// (scripts/bundle-cli.mjs), instead of the ~40 small chunks that importing them one by one makes.
export { COMMANDS, startFailureCode, SYSTEM_COMMANDS, VOLUME_COMMANDS } from './commands.js';
export { IMAGE_COMMANDS } from './image-commands.js';
export { NETWORK_COMMANDS } from './network-commands.js';
export { Engine } from '../../engine/engine.js';
export { ProgressRenderer } from '../../image/registry/progress.js';
