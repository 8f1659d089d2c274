/** Shared test helpers: real servers on 127.0.0.1 port 0, bounded waits. */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface EchoServer {
  url: string;
  server: WebSocketServer;
  close(): Promise<void>;
}

/** A plain ws server that echoes every message (text as text, binary as binary). */
export async function startEchoServer(): Promise<EchoServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Counts of this process's active handles of the kinds a connection could leak. */
export function liveHandles(): { timers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return {
    timers: info.filter((kind) => kind === 'Timeout').length,
    sockets: info.filter((kind) => kind === 'TCPSocketWrap').length,
  };
}

/** Waits until no more timers or sockets are alive than in `baseline`. */
export async function expectNoLeaks(baseline: { timers: number; sockets: number }, ms = 1000): Promise<void> {
  await waitFor(
    () => {
      const now = liveHandles();
      return now.timers <= baseline.timers && now.sockets <= baseline.sockets;
    },
    ms,
    `handles back to ${JSON.stringify(baseline)} (now ${JSON.stringify(liveHandles())})`,
  );
}
