/**
 * `ws-lifecycle/machine`: the pure lifecycle machine, importable without `ws`.
 */
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
