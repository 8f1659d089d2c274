import type { ClientKind, MachineCost } from './types.js';

/** Every client kind, in the order the table lists them; `ws` is the base of every ratio. */
export const KIND_NAMES = [
  'ws',
  'ws+actor',
  'lifecycle',
  'lifecycle-defaults',
  'lifecycle+keepalive',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

export function isKindName(name: string): name is KindName {
  return (KIND_NAMES as readonly string[]).includes(name);
}

/** Loaded lazily so a kind whose module does not load yet is skipped, not fatal. */
export async function loadKind(name: KindName): Promise<ClientKind> {
  switch (name) {
    case 'ws':
      return (await import('./ws.js')).kind;
    case 'ws+actor':
      return (await import('./ws-actor.js')).kind;
    case 'lifecycle':
      return (await import('./lifecycle.js')).kind;
    case 'lifecycle-defaults':
      return (await import('./lifecycle-defaults.js')).kind;
    case 'lifecycle+keepalive':
      return (await import('./lifecycle-keepalive.js')).kind;
  }
}

/** M6's subject for a kind; raw ws holds no machine. */
export async function loadMachineCost(name: KindName): Promise<MachineCost | undefined> {
  switch (name) {
    case 'ws':
      return undefined;
    case 'ws+actor':
      return (await import('./ws-actor.js')).machineCost;
    case 'lifecycle':
      return (await import('./lifecycle-machine.js')).machineCost;
    case 'lifecycle-defaults':
    case 'lifecycle+keepalive':
      return undefined;
  }
}
