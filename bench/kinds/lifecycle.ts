import { createConnection } from '../../src/index.js';
import type { ClientKind } from './types.js';

/**
 * Our library, configured as a user who wants raw-ws behaviour: no audit trail, no compression, no
 * keepalive (raw ws has none). `lifecycle-defaults.ts` is the library as users get it.
 */
export const kind: ClientKind = {
  async connect(url) {
    const conn = createConnection(url, { trail: false, keepalive: false, ws: { perMessageDeflate: false } });
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
