/**
 * ws-lifecycle: a WebSocket connection's whole life as an explicit, inspectable XState v5 machine.
 */
export * from '../machines/index.js';
export type { AuditRecord } from './audit.js';
export {
  AUDIT_SCHEMA_VERSION,
  type AuditChain,
  canonicalJson,
  createAuditChain,
  HASHED_FIELDS,
  hashRecord,
  type JsonlAuditRecord,
  toJsonlRecord,
} from './audit-chain.js';
export {
  type Connection,
  type ConnectionActor,
  type ConnectionEvents,
  createConnection,
  type MessageData,
  type SendData,
} from './connection.js';
export {
  AuditError,
  type AuditErrorCode,
  type JsonlAuditOptions,
  type JsonlAuditSink,
  jsonlAudit,
} from './jsonl-audit.js';
export type { ConnectionOptions } from './options.js';
export { ALWAYS_HIDDEN_HEADERS, MASK, type RedactOptions, redactHeaders, redactUrl } from './redact.js';
export {
  readTrailFile,
  readTrailFileLines,
  type TrailFileError,
  TrailFileSyntaxError,
  type TrailFileVerification,
  type TrailLine,
  verifyTrailFile,
  verifyTrailLines,
} from './trail-file.js';
export {
  type TrailError,
  type TrailRecord,
  type TrailVerification,
  type VerifyTrailOptions,
  verifyTrail,
} from './verify-trail.js';
export type { ClientOptions } from './ws-actor.js';
