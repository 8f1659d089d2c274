/**
 * The scenarios in headless Chromium (Debian's chromium, driven by playwright-core), with the page's
 * own WebSocket: a local http server on 127.0.0.1 serves a page that loads the esbuild bundle of
 * browser-main.ts and leaves its results on `window`. Then the Stately inspector path: the events that
 * `createBrowserInspector` posts, as a receiving page gets them.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_NAMES } from '../../machines/types.js';
import type { BrowserConfig, InspectorResult } from './browser-main.js';
import { scenarioTests } from './expectations.js';
import {
  bundle,
  chromiumBinary,
  type RunnerOutput,
  type ScenarioServers,
  startScenarioServers,
  tempDir,
} from './harness.js';
import { RUNNER_DEADLINE_MS } from './runtime-suite.js';

/** The flags the field notes found needed here (no sandbox as root, nothing reaching out). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

const binary = await chromiumBinary();
const skip = 'skip' in binary ? binary.skip : null;

function page(title: string, config: unknown, script: string): string {
  // The config is JSON: `<` escaped so that nothing in it can end the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html><meta charset="utf-8"><title>${title}</title><body>
<script>window.__WS_LIFECYCLE_CONFIG__ = ${json};</script>
<script type="module" src="${script}"></script></body>`;
}

describe.skipIf(skip !== null)(skip ? `Chromium (skipped: ${skip})` : 'Chromium (headless)', () => {
  let servers: ScenarioServers | undefined;
  let http: Server | undefined;
  let tmp: ReturnType<typeof tempDir> | undefined;
  let output: (RunnerOutput & { inspector: InspectorResult }) | undefined;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    if (!('path' in binary)) return;
    tmp = tempDir('ws-lifecycle-chromium-');
    const dir = tmp.dir;
    await bundle('browser-main.ts', join(dir, 'main.js'));
    await bundle('inspector-receiver.ts', join(dir, 'receiver.js'));
    servers = await startScenarioServers();
    const wsUrl = servers.config.urls['clean-close'].replace(/\/clean-close$/, '');
    let config: BrowserConfig | undefined;
    http = createServer((request, response) => {
      const path = request.url ?? '/';
      const send = (type: string, body: string | Buffer) => {
        response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
        response.end(body);
      };
      if (path === '/') send('text/html', page('ws-lifecycle/web', config, '/main.js'));
      else if (path === '/inspector.html') send('text/html', page('inspector', null, '/receiver.js'));
      else if (path === '/main.js' || path === '/receiver.js')
        send('text/javascript', readFileSync(join(dir, path.slice(1))));
      else {
        response.writeHead(404);
        response.end();
      }
    });
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    config = {
      ...servers.config,
      inspectedUrl: `${wsUrl}/inspected`,
      inspectorPageUrl: `${origin}/inspector.html`,
    };
    const profile = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: binary.path,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 20_000,
    });
    try {
      const tab = await context.newPage();
      tab.on('pageerror', (error) => pageErrors.push(String(error)));
      await tab.goto(`${origin}/`, { timeout: 10_000 });
      const handle = await tab.waitForFunction(
        () => (globalThis as { __WS_LIFECYCLE_RESULTS__?: unknown }).__WS_LIFECYCLE_RESULTS__,
        null,
        { timeout: RUNNER_DEADLINE_MS },
      );
      output = (await handle.jsonValue()) as typeof output;
    } finally {
      await context.close();
    }
  }, RUNNER_DEADLINE_MS + 30_000);

  afterAll(async () => {
    await servers?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    tmp?.remove();
    pageErrors = [];
  });

  it("runs in Chromium, with the page's own WebSocket, and the page throws nothing", () => {
    expect(output?.runtime).toMatch(/HeadlessChrome\/\d+/);
    expect(pageErrors).toEqual([]);
  });

  // Field notes: Chromium drops data that arrives after close() (as the standard says).
  scenarioTests(
    () => output as RunnerOutput,
    () => servers as ScenarioServers,
    { deliversAfterClose: false, bufferedAmountTracksPeer: true },
  );

  it('the Stately inspector path: createBrowserInspector as inspect, and a page receives the machine and its events', () => {
    const inspector = output?.inspector;
    expect(inspector?.failure).toBeUndefined();
    const events = inspector?.events ?? [];
    // The actor, with the machine's definition (what the inspector draws).
    const actor = events.find((e) => e.type === '@xstate.actor');
    expect(actor).toMatchObject({ name: 'connection', definitionId: 'connection' });
    // The events the machine received, in order: the caller's, then the socket's.
    const received = events.filter((e) => e.type === '@xstate.event').map((e) => e.eventType);
    const order = ['api.open', 'ws.open', 'api.close', 'ws.flushed', 'ws.close-received', 'ws.closed'];
    expect(received.filter((type) => order.includes(type ?? ''))).toEqual(order);
    // A snapshot per change; its top-level states are the trail's, ending done.
    const topLevel = (value: unknown) =>
      typeof value === 'string' ? value : Object.keys(value as Record<string, unknown>)[0];
    const states = events
      .filter((e) => e.type === '@xstate.snapshot')
      .map((e) => topLevel(e.value))
      .filter((state, i, all) => i === 0 || state !== all[i - 1]);
    expect(states).toEqual(inspector?.trail);
    expect(inspector?.trail).toEqual([...STATE_NAMES]);
    expect(events.filter((e) => e.type === '@xstate.snapshot').at(-1)?.status).toBe('done');
  });
});
