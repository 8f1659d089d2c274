import { createConnection } from '../../src/index.js';
import type { ClientKind } from './types.js';

/**
 * Our library as users get it: `createConnection(url)` with every default (trail kept, compression
 * offered — the bench server declines it —, keepalive on at 20 s / 10 s).
 */
export const kind: ClientKind = {
  async connect(url) {
    const conn = createConnection(url);
    await conn.open();
    return {
      send: (data) => conn.send(data),
      onMessage: (listener) => {
        conn.on('message', listener);
      },
      close: async () => {
        await conn.close();
      },
    };
  },
};
