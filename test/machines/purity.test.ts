/** machines/ stays pure: no ws, no sockets, no clock (STYLE principle 1). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../machines');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('machines/', () => {
  it('has source files', () => {
    expect(files).toContain('connection-machine.ts');
  });

  it.each(files)('%s imports only xstate and its neighbours', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...source.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
    for (const specifier of specifiers) expect(specifier).toMatch(/^(xstate|\.\/[\w-]+\.js)$/);
  });

  it.each(files)('%s reads no clock and sets no timer', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    expect(source).not.toMatch(/setTimeout|setInterval|Date\.now|performance\.now|process\./);
  });
});
