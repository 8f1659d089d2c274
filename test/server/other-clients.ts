/**
 * Clients of other stacks for the server-side tests, run as child processes on 127.0.0.1: the
 * python-websockets client (Debian's python3-websockets) and a gorilla/websocket client (Go, built
 * offline from Debian's golang-github-gorilla-websocket-dev into a temp dir). Each prints one JSON line
 * per thing it saw; every child has a hard timeout and is killed by its PID.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a client reports: a line `{"ready":true}` once open, then its outcome. */
export interface ClientOutcome {
  /** The echo of the message it sent first. */
  echo?: string;
  /** The Close code and reason it received (or, after its own close, the server's answer). */
  code?: number;
  reason?: string;
  /** Close frames went both ways, as this client's library reports it. */
  clean?: boolean;
  /** The server ended TCP before the client did (gorilla only). */
  serverClosedFirst?: boolean;
  error?: string;
}

export type ClientMode = 'wait' | 'close-first';

const PYTHON_CLIENT = `
import asyncio, json, sys
import websockets

async def main(url, mode):
    async with websockets.connect(url, close_timeout=5, ping_interval=None, compression=None) as ws:
        await ws.send('hello from python')
        echo = await ws.recv()
        if mode == 'close-first':
            await ws.close(4000, 'python leaves')
            print(json.dumps({'echo': echo, 'code': ws.close_code, 'reason': ws.close_reason, 'clean': True}), flush=True)
            return
        print(json.dumps({'ready': True}), flush=True)
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as e:
            clean = e.rcvd is not None and e.sent is not None
            code = e.rcvd.code if e.rcvd else 1006
            reason = e.rcvd.reason if e.rcvd else ''
            print(json.dumps({'echo': echo, 'code': code, 'reason': reason, 'clean': clean}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
`;

const GORILLA_CLIENT = `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/gorilla/websocket"
)

func say(v map[string]interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func main() {
	url, mode := os.Args[1], os.Args[2]
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		say(map[string]interface{}{"error": err.Error()})
		os.Exit(1)
	}
	c.WriteMessage(websocket.TextMessage, []byte("hello from gorilla"))
	_, echo, err := c.ReadMessage()
	if err != nil {
		say(map[string]interface{}{"error": err.Error()})
		os.Exit(1)
	}
	if mode == "close-first" {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "gorilla leaves"), time.Now().Add(time.Second))
	} else {
		say(map[string]interface{}{"ready": true})
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	out := map[string]interface{}{"echo": string(echo)}
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			// gorilla's default close handler has echoed the Close by now (RFC 6455 §5.5.1).
			out["code"], out["reason"], out["clean"] = ce.Code, ce.Text, true
		} else {
			out["clean"], out["error"] = false, err.Error()
		}
		break
	}
	// RFC 6455 §7.1.1: the server should end TCP first; see whether it did before we close ours.
	raw := c.UnderlyingConn()
	raw.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 16)
	_, err = raw.Read(buf)
	out["serverClosedFirst"] = err != nil && err.Error() == "EOF"
	c.Close()
	say(out)
}
`;

/** A python3 that has websockets, or null. */
export function findPython(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import websockets'], { timeout: 10_000 });
    if (probe.status === 0) return candidate;
  }
  return null;
}

const GOPATH = '/usr/share/gocode';

/** Whether go and the gorilla sources are here (nothing is downloaded). */
export function goAvailable(): boolean {
  const probe = spawnSync('go', ['version'], { timeout: 10_000 });
  return probe.status === 0 && existsSync(join(GOPATH, 'src/github.com/gorilla/websocket'));
}

/**
 * Builds the gorilla client into a temp dir (GOPATH mode, offline; the build cache is kept in the temp
 * dir across runs) and returns the binary's path.
 */
export async function buildGorillaClient(): Promise<string> {
  const hash = createHash('sha1').update(GORILLA_CLIENT).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `ws-lifecycle-gorilla-${hash}`);
  const binary = join(dir, 'client');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.go'), GORILLA_CLIENT);
  await new Promise<void>((resolve, reject) => {
    execFile(
      'go',
      ['build', '-o', binary, 'main.go'],
      {
        cwd: dir,
        timeout: 120_000,
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH,
          GOCACHE: join(tmpdir(), 'ws-lifecycle-gocache'),
          GOFLAGS: '',
          GOPROXY: 'off',
        },
      },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`go build failed: ${stderr || error.message}`)) : resolve(),
    );
  });
  return binary;
}

export function pythonClientFile(): string {
  const hash = createHash('sha1').update(PYTHON_CLIENT).digest('hex').slice(0, 12);
  const file = join(tmpdir(), `ws-lifecycle-python-client-${hash}.py`);
  if (!existsSync(file)) writeFileSync(file, PYTHON_CLIENT);
  return file;
}

export interface RunningClient {
  /** Resolves once the client printed `{"ready":true}` (open, echo received). */
  ready: Promise<void>;
  /** Resolves with its last line, parsed, once it exits (or is killed at `timeoutMs`). */
  outcome: Promise<ClientOutcome>;
  child: ChildProcess;
}

/** Starts `command args…` and follows its JSON lines. Killed by PID at `timeoutMs`. */
export function runClient(command: string, args: string[], timeoutMs = 15_000): RunningClient {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('"ready": true') || stdout.includes('"ready":true')) markReady();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, timeoutMs);
  const outcome = new Promise<ClientOutcome>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ClientOutcome);
      } catch {
        resolve({ error: `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      }
      markReady();
    });
  });
  return { ready, outcome, child };
}

/** Ends a client still running (by PID). */
export function killClient(client: RunningClient): void {
  const { child } = client;
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
}
