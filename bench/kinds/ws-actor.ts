import WebSocket from 'ws';
import { createActor, createMachine } from 'xstate';
import type { BenchConnection, ClientKind, MachineCost } from './types.js';

/**
 * Raw ws plus one bare XState actor per connection: what "an XState machine per connection" costs
 * before any of our work (the second reference).
 */
export const bareMachine = createMachine({ id: 'bare', initial: 'alive', states: { alive: {} } });

export const kind: ClientKind = {
  connect(url) {
    const actor = createActor(bareMachine).start();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const fail = (error: Error) => {
        actor.stop();
        reject(error);
      };
      ws.once('error', fail);
      ws.once('open', () => {
        ws.off('error', fail);
        resolve(wrap(ws, actor));
      });
    });
  },
};

function wrap(ws: WebSocket, actor: ReturnType<typeof createActor<typeof bareMachine>>): BenchConnection {
  return {
    send: (data) => ws.send(data),
    onMessage: (listener) => {
      ws.on('message', listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        ws.once('close', () => {
          actor.stop();
          resolve();
        });
        ws.close(1000);
      }),
  };
}

export const machineCost: MachineCost = {
  createAndStopActor() {
    createActor(bareMachine).start().stop();
  },
};
