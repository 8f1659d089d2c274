// Copied into the consumer folder where the packed ws-lifecycle is installed, and run there with node,
// as a user's code would be: `node client.mjs --client ws-lifecycle|ws --url wss://… --ca ca.pem --runs 50`.
// Each run opens, sends 'x', then at once closes with 1000 'bye', and waits for the end (each run bounded).
// Prints one JSON line: counts of each outcome.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createConnection } from 'ws-lifecycle';

const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    url: { type: 'string' },
    ca: { type: 'string' },
    runs: { type: 'string', default: '50' },
    bound: { type: 'string', default: '3000' },
  },
});
const ca = values.ca ? readFileSync(values.ca, 'utf8') : undefined;
const runs = Number(values.runs);
const boundMs = Number(values.bound);

function bounded(promise, onTimeout) {
  let timer;
  return Promise.race([
    promise,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(onTimeout()), boundMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function library() {
  const conn = createConnection(values.url, { ws: ca ? { ca } : {} });
  let messages = 0;
  conn.on('message', () => messages++);
  return bounded(
    (async () => {
      await conn.open();
      conn.send('x');
      const info = await conn.close(1000, 'bye');
      return {
        wasClean: info.wasClean,
        close: `${info.code} ${JSON.stringify(info.reason)}`,
        error: info.error?.code ?? null,
        states: conn.trail.map((r) => r.to).join(' → '),
        messages,
      };
    })().catch((error) => ({ failed: String(error?.code ?? error) })),
    () => {
      void conn.terminate();
      return { failed: 'hung' };
    },
  );
}

async function plainWs() {
  const ws = new WebSocket(values.url, ca ? { ca } : {});
  let messages = 0;
  ws.on('message', () => messages++);
  ws.on('error', () => {});
  return bounded(
    new Promise((resolve) => {
      ws.addEventListener('close', (event) =>
        resolve({
          wasClean: event.wasClean,
          close: `${event.code} ${JSON.stringify(event.reason)}`,
          extensions: ws.extensions || 'none',
          messages,
        }),
      );
      ws.once('open', () => {
        ws.send('x');
        ws.close(1000, 'bye');
      });
    }),
    () => {
      ws.terminate();
      return { failed: 'hung' };
    },
  );
}

const counts = {};
let clean = 0;
for (let i = 0; i < runs; i++) {
  const outcome = values.client === 'ws' ? await plainWs() : await library();
  if (outcome.wasClean) clean++;
  const key = JSON.stringify(outcome);
  counts[key] = (counts[key] ?? 0) + 1;
}
const outcomes = Object.entries(counts)
  .map(([key, n]) => ({ n, ...JSON.parse(key) }))
  .sort((a, b) => b.n - a.n);
process.stdout.write(`${JSON.stringify({ client: values.client, runs, clean, outcomes })}\n`);
