/**
 * ws-lifecycle: a WebSocket connection's whole life as an explicit, inspectable XState v5 machine.
 */
export * from '../machines/index.js';
export type { AuditRecord } from './audit.js';
export {
  type Connection,
  type ConnectionActor,
  type ConnectionEvents,
  createConnection,
  type MessageData,
  type SendData,
} from './connection.js';
export type { ConnectionOptions } from './options.js';
export { redactUrl } from './redact.js';
export type { ClientOptions } from './ws-actor.js';
