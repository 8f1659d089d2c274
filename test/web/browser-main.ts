/**
 * The runner for the browser page (test/web/chromium.test.ts bundles it): runs every scenario with the
 * page's own WebSocket, then the Stately inspector path: `createBrowserInspector` from
 * `@statelyai/inspect` given as `inspect`, its window an iframe on a local page (the hosted inspector
 * needs internet) that receives the events with `createBrowserReceiver` and hands them back. Results go
 * to `window.__WS_LIFECYCLE_RESULTS__`.
 */
import { createBrowserInspector } from '@statelyai/inspect';
import { createConnection } from '../../src/web.js';
import { runScenarios, type ScenarioConfig } from './scenarios.js';

/** What the page adds to the scenarios' config. */
export interface BrowserConfig extends ScenarioConfig {
  /** A ws echo server for the inspected connection. */
  inspectedUrl: string;
  /** The local page the inspector's iframe loads. */
  inspectorPageUrl: string;
}

/** One inspection event as the receiving page got it. */
export interface ReceivedEvent {
  type: string;
  name?: string;
  definitionId?: string;
  eventType?: string;
  value?: unknown;
  status?: string;
}

/** The inspector path's outcome. */
export interface InspectorResult {
  failure?: string;
  events?: ReceivedEvent[];
  trail?: string[];
}

export const RELAY = 'ws-lifecycle.relay';

/** The few DOM members used here (the project compiles without the DOM library). */
interface Listener {
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
}
interface PageWindow extends Listener {
  __WS_LIFECYCLE_CONFIG__: BrowserConfig;
  __WS_LIFECYCLE_RESULTS__?: unknown;
  navigator: { userAgent: string };
  document: {
    createElement(tag: 'iframe'): Listener;
    body: { append(node: unknown): void };
  };
}

const page = globalThis as unknown as PageWindow;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function inspectorPath(config: BrowserConfig): Promise<InspectorResult> {
  const received: ReceivedEvent[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let connected: () => void = () => {};
  const isConnected = new Promise<void>((resolve) => {
    connected = resolve;
  });
  page.addEventListener('message', (event) => {
    const data = event.data as { type?: string; event?: Record<string, unknown> };
    if (data?.type === '@statelyai.connected') connected();
    if (data?.type !== RELAY || !data.event) return;
    const e = data.event as {
      type: string;
      name?: string;
      definition?: string;
      event?: { type?: string };
      snapshot?: { value?: unknown; status?: string };
    };
    const item: ReceivedEvent = { type: e.type };
    if (e.name) item.name = e.name;
    if (e.definition) item.definitionId = (JSON.parse(e.definition) as { id?: string }).id;
    if (e.event?.type) item.eventType = e.event.type;
    if (e.snapshot && e.type === '@xstate.snapshot') {
      item.value = e.snapshot.value;
      item.status = e.snapshot.status;
      if (e.snapshot.status === 'done') done();
    }
    received.push(item);
  });
  const iframe = page.document.createElement('iframe');
  const loaded = new Promise<void>((resolve) => iframe.addEventListener('load', () => resolve()));
  page.document.body.append(iframe);
  const inspector = createBrowserInspector({
    // An HTMLIFrameElement (typed loosely: no DOM library here).
    iframe: iframe as never,
    url: config.inspectorPageUrl,
  });
  try {
    // The adapter posts only once the iframe loaded and its receiver said it is connected.
    await within(Promise.all([loaded, isConnected]), 5000, 'the inspector page');
    const conn = createConnection(config.inspectedUrl, { inspect: inspector.inspect });
    const echoed = new Promise<void>((resolve) => conn.on('message', () => resolve()));
    await within(conn.open(), 5000, 'open');
    conn.send('inspected');
    await within(echoed, 5000, 'the echo');
    await within(conn.close(1000, 'inspected'), 5000, 'close');
    await within(finished, 5000, 'the final snapshot at the inspector page');
    return { events: received, trail: conn.trail.map((r) => r.to) };
  } catch (error) {
    return { failure: String(error), events: received };
  } finally {
    inspector.stop();
  }
}

const config = page.__WS_LIFECYCLE_CONFIG__;
const results = await runScenarios(config);
const inspector = await inspectorPath(config);
page.__WS_LIFECYCLE_RESULTS__ = { runtime: page.navigator.userAgent, results, inspector };
