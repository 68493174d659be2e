/**
 * Registry layer: a typed name → factory map for one plug-in kind. Duplicate names throw (grpc-js
 * load-balancer registry, Envoy's registry.h): two plug-ins can never silently shadow each other.
 */
import type { Registry } from '../api/registry.js';
import { ErrorCode, SkiffError } from '../base/errors.js';

export class NamedRegistry<T extends { readonly name: string }> implements Registry<T> {
  readonly kind: string;
  readonly #byName = new Map<string, T>();

  constructor(kind: string) {
    this.kind = kind;
  }

  register(factory: T): void {
    if (typeof factory?.name !== 'string' || factory.name === '') {
      throw new SkiffError(ErrorCode.Registry, `${this.kind}: a factory must have a non-empty name`);
    }
    if (this.#byName.has(factory.name)) {
      throw new SkiffError(ErrorCode.Registry, `${this.kind} '${factory.name}' is already registered`);
    }
    this.#byName.set(factory.name, factory);
  }

  get(name: string): T | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  names(): readonly string[] {
    return [...this.#byName.keys()];
  }
}
