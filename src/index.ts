/**
 * ws-lifecycle: a WebSocket connection's whole life as an explicit, inspectable XState v5 machine.
 *
 * The whole API: `createConnection` and its types, the pure machine (also at `ws-lifecycle/machine`),
 * the audit trail (`jsonlAudit`, `createAuditChain`, `verifyTrail`, `verifyTrailFile`) and redaction;
 * the server side: `adopt` a socket a ws `WebSocketServer` accepted, `shutdown` a whole server.
 * Fault peers for your own tests are at `ws-lifecycle/testing`.
 */
export * from '../machines/index.js';
export type { AuditRecord } from './audit/audit.js';
export {
  type AuditChain,
  canonicalJson,
  createAuditChain,
  hashRecord,
  type JsonlAuditRecord,
} from './audit/audit-chain.js';
export {
  AuditError,
  type AuditErrorCode,
  type JsonlAuditOptions,
  type JsonlAuditSink,
  jsonlAudit,
} from './audit/jsonl-audit.js';
export {
  readTrailFile,
  type TrailFileError,
  type TrailFileVerification,
  verifyTrailFile,
} from './audit/trail-file.js';
export {
  type TrailError,
  type TrailRecord,
  type TrailVerification,
  type VerifyTrailOptions,
  verifyTrail,
} from './audit/verify-trail.js';
export {
  type Connection,
  type ConnectionActor,
  type ConnectionEvents,
  createConnection,
  type MessageData,
  type SendData,
} from './connection.js';
export { createManagedConnection, type ManagedConnectionOptions } from './managed/managed-connection.js';
export {
  type AttemptConnectionOptions,
  type ConnectionFactory,
  createManagedConnectionWith,
  type ManagedConnection,
  type ManagedConnectionEvents,
  type ManagedTransportLimits,
  type RetryEvent,
  type SupervisorActor,
  type UrlSource,
} from './managed/managed-core.js';
export type { ManagedOwnOptions, ReconnectOptions } from './managed/managed-options.js';
export type { AttemptRecord, ManagedTrailRecord, SupervisorRecord } from './managed/managed-trail.js';
export type { QueueOptions } from './managed/send-queue.js';
export {
  type ManagedTrailVerification,
  verifyManagedTrail,
  verifySupervisorTrail,
} from './managed/verify-supervisor-trail.js';
export type { ConnectionOptions } from './options.js';
export { type RedactOptions, redactHeaders, redactUrl } from './redact.js';
export {
  type AdoptOptions,
  adopt,
  type ServerTimeouts,
  type ShutdownOptions,
  type ShutdownProgress,
  type ShutdownReport,
  shutdown,
} from './server/index.js';
export type { ClientOptions } from './transports/ws-client.js';
