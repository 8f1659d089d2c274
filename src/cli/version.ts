/**
 * The package version, read from the package.json above this file (the same from src/ via tsx, from
 * dist/ and from an installed package).
 */
import { readFileSync } from 'node:fs';

export function packageVersion(from: string | URL = import.meta.url): string {
  let dir = new URL('.', from);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ws-lifecycle' && pkg.version) return pkg.version;
    } catch {
      // No package.json here: look one level up.
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
