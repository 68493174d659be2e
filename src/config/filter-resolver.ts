/**
 * Config layer: turns raw filter entries (`{type, config, skiff_module?}`) into `FilterConfig`s
 * through the registries, as MOSN's config parser does for network, stream and listener filters:
 *
 *   entry ─ skiff_module? ─▶ import(), check, register (once per Registries + resolved path)
 *         ─ registry.get(type) ─▶ factory.parseConfig(config, ctx@path.config) ─▶ FilterConfig
 *                        └ missing ─▶ fail-closed / error per feature-policy.ts, else warning + skip
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FilterConfig } from '../api/config.js';
import type { ExtensionFactory, LoadableFactory, ParseContext } from '../api/extension.js';
import type { Registries, Registry } from '../api/registry.js';
import { suggestion } from '../base/did-you-mean.js';
import { ConfigError } from '../base/errors.js';
import { joinPath } from '../base/schema.js';
import { findFilterRule, keyRuleMessage, type FilterPosition } from './feature-policy.js';
import type { FilterEntry } from './schema/filter.js';

/** Where the resolver reports problems, each at a JSON path. */
export interface IssueSink {
  error(path: string, message: string): void;
  warn(path: string, message: string): void;
  note(path: string, message: string): void;
}

export interface ResolveOptions {
  readonly registries: Registries;
  readonly baseDir: string;
  readonly sink: IssueSink;
}

const KIND_NAME: Readonly<Record<FilterPosition, string>> = {
  network_filter: 'network filter',
  stream_filter: 'stream filter',
  listener_filter: 'listener filter',
};

function registryFor(registries: Registries, position: FilterPosition): Registry<ExtensionFactory & { readonly kind: string }> {
  switch (position) {
    case 'network_filter': return registries.networkFilters as Registry<ExtensionFactory & { readonly kind: string }>;
    case 'stream_filter': return registries.streamFilters as Registry<ExtensionFactory & { readonly kind: string }>;
    case 'listener_filter': return registries.listenerFilters as Registry<ExtensionFactory & { readonly kind: string }>;
  }
}

/** Modules already imported and registered, per Registries object: the same module used twice registers once. */
const loaded = new WeakMap<Registries, Map<string, Promise<LoadableFactory>>>();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

async function importFactory(file: string, spec: string): Promise<LoadableFactory> {
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw new Error(`cannot load skiff_module "${spec}": ${(err as Error).message.split('\n')[0]}`);
  }
  const factory = isObject(mod) ? mod['default'] : undefined;
  if (!isObject(factory) || typeof factory['name'] !== 'string' || typeof factory['kind'] !== 'string'
    || typeof factory['parseConfig'] !== 'function' || typeof factory['create'] !== 'function') {
    throw new Error(`skiff_module "${spec}" must default-export a filter factory { kind, name, parseConfig, create }`);
  }
  return factory as unknown as LoadableFactory;
}

/** Imports, checks and registers the factory named by an entry's `skiff_module`; throws a one-line Error. */
async function loadModuleFactory(entry: FilterEntry & { skiffModule: string }, position: FilterPosition, opts: ResolveOptions): Promise<string> {
  const file = resolve(opts.baseDir, entry.skiffModule);
  let perRegistries = loaded.get(opts.registries);
  if (!perRegistries) loaded.set(opts.registries, (perRegistries = new Map()));
  let pending = perRegistries.get(file);
  if (!pending) {
    pending = importFactory(file, entry.skiffModule).then((factory) => {
      if (!(['network_filter', 'stream_filter', 'listener_filter'] as string[]).includes(factory.kind)) {
        throw new Error(`skiff_module "${entry.skiffModule}" exports a factory of unknown kind "${factory.kind}"`);
      }
      const registry = registryFor(opts.registries, factory.kind as FilterPosition);
      if (registry.has(factory.name) && registry.get(factory.name) !== (factory as unknown)) {
        throw new Error(`${KIND_NAME[factory.kind as FilterPosition]} "${factory.name}" is already registered (a built-in or another module); skiff_module "${entry.skiffModule}" cannot replace it`);
      }
      if (!registry.has(factory.name)) registry.register(factory as ExtensionFactory & { readonly kind: string });
      return factory;
    });
    perRegistries.set(file, pending);
    // A failed load is not cached: the next load (e.g. after the file is fixed) tries again.
    pending.catch(() => perRegistries?.delete(file));
  }
  const factory = await pending;
  if (factory.kind !== position) {
    throw new Error(`skiff_module "${entry.skiffModule}" exports a ${factory.kind} factory, but it is used as a ${position}`);
  }
  if (factory.name !== entry.type) {
    throw new Error(`skiff_module "${entry.skiffModule}" exports factory "${factory.name}", but the filter type is "${entry.type}"`);
  }
  return file;
}

/**
 * Resolves the filter entries at `path` (an array path such as `servers[0].listeners[0].stream_filters`).
 * Unknown types are skipped with a warning (MOSN's behaviour) unless the policy table says fail closed.
 */
export async function resolveFilters(entries: readonly FilterEntry[], position: FilterPosition, path: string, opts: ResolveOptions): Promise<FilterConfig[]> {
  const out: FilterConfig[] = [];
  const registry = registryFor(opts.registries, position);
  for (const [i, entry] of entries.entries()) {
    const at = joinPath(path, i);
    let module: string | undefined;
    if (entry.skiffModule !== undefined) {
      try {
        module = await loadModuleFactory(entry as FilterEntry & { skiffModule: string }, position, opts);
      } catch (err) {
        opts.sink.error(joinPath(at, 'skiff_module'), (err as Error).message);
        continue;
      }
    }
    const factory = registry.get(entry.type);
    if (!factory) {
      const rule = findFilterRule(position, entry.type);
      if (rule && rule.action !== 'warn') opts.sink.error(joinPath(at, 'type'), keyRuleMessage(rule));
      else if (rule) opts.sink.warn(joinPath(at, 'type'), `${keyRuleMessage(rule)}; the filter is skipped`);
      else opts.sink.warn(joinPath(at, 'type'), `unknown ${KIND_NAME[position]} type "${entry.type}" skipped${suggestion(entry.type, registry.names())}`);
      continue;
    }
    const configPath = joinPath(at, 'config');
    const ctx: ParseContext = {
      path: configPath,
      baseDir: opts.baseDir,
      warn: (p, m) => opts.sink.warn(p, m),
      note: (p, m) => opts.sink.note(p, m),
    };
    try {
      const config = factory.parseConfig(entry.config ?? {}, ctx);
      out.push(module === undefined ? { type: entry.type, config } : { type: entry.type, config, module });
    } catch (err) {
      if (err instanceof ConfigError) for (const issue of err.issues) opts.sink.error(issue.path, issue.message);
      else opts.sink.error(configPath, `${KIND_NAME[position]} "${entry.type}": ${(err as Error).message}`);
    }
  }
  return out;
}
