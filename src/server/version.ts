/** Server layer: Skiff's version, read once from package.json (two folders above <outDir>/src/server/). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function skiffVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
