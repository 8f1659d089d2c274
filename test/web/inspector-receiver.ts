/**
 * The page the inspector's iframe loads in test/web/chromium.test.ts, standing in for the hosted
 * Stately inspector (which needs internet): it receives the inspection events over the inspector's own
 * postMessage protocol (`createBrowserReceiver`, which also says "connected" to the inspecting page) and
 * hands each back to that page, so the test can assert what an inspector receives.
 */
import { createBrowserReceiver } from '@statelyai/inspect';

const RELAY = 'ws-lifecycle.relay';

/** The one DOM member used here (the project compiles without the DOM library). */
const parent = (globalThis as unknown as { parent: { postMessage(message: unknown, origin: string): void } })
  .parent;

createBrowserReceiver().subscribe((event) => {
  parent.postMessage({ type: RELAY, event }, '*');
});
