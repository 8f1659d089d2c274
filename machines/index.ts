/**
 * `ws-lifecycle/machine`: the pure lifecycle machine, importable without `ws`.
 */
export {
  type BoundsOptions,
  type BoundTable,
  closeBounds,
  deadPeerBounds,
  type ManagedBoundsOptions,
  managedCloseBounds,
  type StateBound,
  type WitnessStep,
  worstCaseCloseMs,
  worstCaseManagedCloseMs,
} from './bounds.js';
export {
  ABNORMAL_CLOSURE,
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  NO_STATUS_RECEIVED,
  NORMAL_CLOSURE,
  PROTOCOL_ERROR,
  validateCloseStatus,
} from './close-codes.js';
export {
  ConnectionError,
  type ConnectionErrorCode,
  type ConnectionErrorOptions,
  ERROR_CODES,
} from './connection-error.js';
export { type ConnectionMachine, closeInfoOf, connectionMachine } from './connection-machine.js';
export {
  backoffCap,
  FINAL_CLOSE_CODES,
  RETRIED_CLOSE_CODES,
  retriedByDefault,
  retryAfterOf,
  retryDelay,
  type SupervisorMachine,
  supervisorMachine,
} from './supervisor-machine.js';
export {
  ATTEMPT_ID,
  type Backoff,
  DEFAULT_BACKOFF,
  type ManagedCloseInfo,
  type ManagedCloseReason,
  ON_OPEN_ID,
  type RecordedPolicy,
  type ShouldReconnect,
  SUPERVISOR_STATE_NAMES,
  type SupervisorContext,
  type SupervisorDetail,
  type SupervisorEmitted,
  type SupervisorEvent,
  type SupervisorInput,
  type SupervisorOutput,
  type SupervisorRetryEmitted,
  type SupervisorStateEmitted,
  type SupervisorStateName,
} from './supervisor-types.js';
export {
  type CloseCommand,
  type CloseInfo,
  type CloseStatus,
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionInput,
  DEFAULT_KEEPALIVE,
  DEFAULT_TIMEOUTS,
  type Initiator,
  type Keepalive,
  STATE_NAMES,
  type StateChangeEmitted,
  type StateName,
  type Timeouts,
  TRANSPORT_COMMANDS,
  type TransitionDetail,
  type TransportCommand,
} from './types.js';
