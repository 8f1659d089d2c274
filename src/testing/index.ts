/**
 * Fault peers for testing WebSocket clients: `ws-lifecycle/testing`.
 *
 * @module
 */

export {
  acceptKey,
  DEFAULT_MAX_MESSAGE_BYTES,
  type EncodeFrameOptions,
  encodeClosePayload,
  encodeFrame,
  type FrameEvent,
  type FrameInfo,
  FrameReader,
  type FrameReaderOptions,
  isSendableCloseCode,
  MAX_REQUEST_HEAD_BYTES,
  Opcode,
  RESERVED_OPCODE,
  WEBSOCKET_GUID,
} from './frames.js';
export {
  type CloseStatus,
  DEFAULT_TIMEOUT_MS,
  type FrameKind,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type Peer,
  type PeerConnection,
  type PeerFrame,
  type PeerMessage,
  type PeerMode,
  type PeerRequest,
  refusedUrl,
  type StartPeerOptions,
  startPeer,
} from './peer.js';
