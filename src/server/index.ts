/**
 * The server side: `adopt` a socket a ws `WebSocketServer` accepted, and `shutdown` a whole server
 * gracefully under deadlines (docs/server.md).
 */
export { adopt } from './adopt.js';
export type { AdoptOptions, ServerTimeouts, ShutdownOptions, ShutdownProgress } from './options.js';
export { shutdown } from './shutdown.js';
export type { ShutdownReport } from './shutdown-report.js';
