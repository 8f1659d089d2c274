import { createConnection } from '../../src/index.js';
import type { ClientKind } from './types.js';

/**
 * `lifecycle` with keepalive on, at a short interval (1 s / 1 s): every frame received goes through the
 * activity sampling (one `ws.activity` per 50 ms at most) and the interval restarts as the feed runs, so
 * M1 measures what keepalive costs a busy connection (issue 11: ≥ 0.97× ws). No trail, no compression,
 * as `lifecycle`.
 */
export const kind: ClientKind = {
  async connect(url) {
    const conn = createConnection(url, {
      trail: false,
      keepalive: { interval: 1000, timeout: 1000 },
      ws: { perMessageDeflate: false },
    });
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
