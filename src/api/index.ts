/** API layer: the plug-in SDK entry point. Extensions import from here and from src/base only. */
export * from './config.js';
export * from './network.js';
export * from './observability.js';
export * from './upstream.js';
export * from './extension.js';
export * from './stream.js';
export * from './protocol.js';
export * from './registry.js';
