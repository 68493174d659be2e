/** Server layer: the public surface main.ts and tests use. */
export { Server, type ServerOptions } from './server.js';
export { Stage, StageManager, stageName } from './stages.js';
export { installSignalHandlers, type SignalTarget, type SignalOptions } from './signals.js';
export { skiffVersion } from './version.js';
export { createBuiltinRegistries } from '../registry/registries.js';
