/**
 * The public API on Node: `createConnection` over the ws client transport, and the `Connection` it
 * returns. The connection itself is runtime-neutral (src/core/connection-core.ts); this entry adds the
 * ws transport and the ws options. Every lifecycle decision stays in the machine.
 */
import {
  Connection,
  type ConnectionActor,
  type ConnectionEvents,
  type ConnectionSetup,
  MAX_PINGS_IN_FLIGHT,
  type MessageData,
  type SendData,
} from './core/connection-core.js';
import { type ConnectionOptions, resolveOptions } from './options.js';
import { WsClientTransport, wsCloseTimeout } from './transports/ws-client.js';

export {
  Connection,
  type ConnectionActor,
  type ConnectionEvents,
  type ConnectionSetup,
  MAX_PINGS_IN_FLIGHT,
  type MessageData,
  type SendData,
};

/**
 * Creates a connection to a `ws:`/`wss:` URL (`http:`/`https:` map to them). Nothing touches the network
 * until `open()`. Throws ConnectionError ERR_INVALID_URL / ERR_INVALID_OPTIONS for bad input.
 *
 * @example
 * const conn = createConnection('ws://127.0.0.1:8080', { timeouts: { connect: 3000 } });
 * conn.on('message', (data) => console.log(data));
 * await conn.open();
 * conn.send('hello');
 * const info = await conn.close(1000, 'done');
 */
export function createConnection(url: string | URL, options?: ConnectionOptions): Connection {
  const resolved = resolveOptions(url, options);
  const closeTimeout = wsCloseTimeout(resolved.timeouts);
  return new Connection({
    timeouts: resolved.timeouts,
    keepalive: resolved.keepalive,
    audit: resolved.audit,
    inspect: resolved.inspect,
    trail: resolved.trail,
    transport: (sink) =>
      new WsClientTransport(
        resolved.url,
        resolved.safeUrl,
        resolved.protocols,
        resolved.ws,
        closeTimeout,
        sink,
      ),
  });
}
