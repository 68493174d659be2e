/**
 * Config layer: the public API. Load a MOSN v2 document into an immutable `SkiffConfig`, diff two
 * snapshots for live updates, apply MOSN's partial updates, and redact documents for display.
 */
export { loadConfigDocument, loadConfigFile, type LoadOptions, type LoadResult } from './loader.js';
export { parseConfigText, readConfigFile } from './config-file.js';
export { applyPartialUpdate, canonicalJson, diffConfigs, diffResources, type ConfigDiff, type PartialUpdate, type ResourceDiff } from './snapshot.js';
export { redactDocument, REDACTED } from './redact.js';
export { FILTER_RULES, KEY_RULES, type FilterRule, type KeyRule, type PolicyAction } from './feature-policy.js';
export { DEFAULT_ACCESS_LOG_FORMAT } from './schema/listener.js';
