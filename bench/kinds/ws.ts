import WebSocket from 'ws';
import type { BenchConnection, ClientKind } from './types.js';

/** Raw ws: the physical limit every other kind is compared with. */
export const kind: ClientKind = {
  connect(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(wrap(ws));
      });
    });
  },
};

function wrap(ws: WebSocket): BenchConnection {
  return {
    send: (data) => ws.send(data),
    onMessage: (listener) => {
      ws.on('message', listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000);
      }),
  };
}
