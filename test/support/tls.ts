/**
 * TLS for tests, made at run time: a self-signed certificate for 127.0.0.1 (and `localhost`) built with
 * `node:crypto` alone (no `openssl` CLI, no dependency), and a `wss://` echo server on it.
 *
 * The certificate is X.509 v3 (RFC 5280): an ECDSA P-256 key signed by itself, SHA-256, valid from an
 * hour ago for a day, with subjectAltName IP 127.0.0.1 + DNS localhost (what Node checks: the CN is
 * ignored for an IP), basicConstraints CA:TRUE so it is its own trust anchor (`ws: { ca }`).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** A self-signed certificate and its key, PEM-encoded. The certificate is also the CA to trust. */
export interface SelfSignedCertificate {
  /** PKCS#8 private key. */
  key: string;
  /** The certificate. */
  cert: string;
  /** The same certificate, to pass as `ca` (ws `ClientOptions`, `tls.connect`). */
  ca: string;
}

// --- DER (X.690), only what a certificate needs -------------------------------------------------------

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...items: Buffer[]) => der(0x30, ...items);
const set = (...items: Buffer[]) => der(0x31, ...items);
const explicit = (n: number, item: Buffer) => der(0xa0 | n, item);
const octets = (bytes: Buffer) => der(0x04, bytes);
const bitString = (bytes: Buffer) => der(0x03, Buffer.from([0]), bytes);
const utf8 = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
const boolTrue = () => der(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER from big-endian bytes (a leading 0 when the top bit is set). */
function unsigned(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime (RFC 5280 §4.1.2.5.1: years before 2050), seconds precision, Zulu. */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-01T10:20:30.000Z
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, 'ascii'));
}

const extension = (id: string, critical: boolean, value: Buffer) =>
  sequence(oid(id), ...(critical ? [boolTrue()] : []), octets(value));

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

/**
 * Makes a fresh self-signed certificate for 127.0.0.1 and localhost. Takes about a millisecond.
 * Checked before it is returned: it parses, verifies with its own key and matches 127.0.0.1.
 */
export function selfSignedCertificate(commonName = '127.0.0.1'): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8(commonName))));
  const now = Date.now();
  const subjectAltName = sequence(
    der(0x87, Buffer.from([127, 0, 0, 1])), // [7] iPAddress
    der(0x82, Buffer.from('localhost', 'ascii')), // [2] dNSName
  );
  const tbs = sequence(
    explicit(0, der(0x02, Buffer.from([2]))), // v3
    unsigned(randomBytes(16)),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      sequence(
        extension('2.5.29.19', true, sequence(boolTrue())), // basicConstraints CA:TRUE
        extension('2.5.29.15', true, der(0x03, Buffer.from([0x02, 0x84]))), // keyUsage digitalSignature, keyCertSign
        extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage serverAuth
        extension('2.5.29.17', false, subjectAltName),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  const x509 = new X509Certificate(cert);
  if (!x509.verify(publicKey) || x509.checkIP('127.0.0.1') === undefined) {
    throw new Error('test/support/tls.ts: the generated certificate does not verify');
  }
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  createPrivateKey(key); // round-trips
  return { key, cert, ca: cert };
}

// --- a wss:// echo server ------------------------------------------------------------------------------

export interface StartTlsWsServerOptions {
  /**
   * Accept permessage-deflate (the ws client offers it by default), compressing every message.
   * @default false
   */
  perMessageDeflate?: boolean;
  /**
   * Echo every message back (text as text, binary as binary).
   * @default true
   */
  echo?: boolean;
  /** Certificate to serve; a fresh one by default. */
  certificate?: SelfSignedCertificate;
}

export interface TlsWsServer {
  /** `wss://127.0.0.1:<port>` */
  url: string;
  /** The certificate to trust: `createConnection(url, { ws: { ca } })`. */
  ca: string;
  /** The ws server, for tests that act on its clients (e.g. close them first). */
  wss: WebSocketServer;
  /** Ends every socket and stops listening; resolves within `timeoutMs` (default 2000) whatever happens. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * A real `ws` WebSocketServer on an https server bound to 127.0.0.1, port 0. Its closing handshake is ws's
 * own: it echoes the client's Close and ends TCP (FIN) once the echo is written.
 */
export async function startTlsWsServer(options: StartTlsWsServerOptions = {}): Promise<TlsWsServer> {
  const certificate = options.certificate ?? selfSignedCertificate();
  const https = createHttpsServer({ key: certificate.key, cert: certificate.cert });
  const sockets = new Set<Socket>();
  https.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({
    server: https,
    perMessageDeflate: options.perMessageDeflate ? { threshold: 0 } : false,
  });
  if (options.echo ?? true) {
    wss.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
  }
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  const { port } = https.address() as AddressInfo;
  return {
    url: `wss://127.0.0.1:${port}`,
    ca: certificate.ca,
    wss,
    close: (timeoutMs = 2000) => closeBounded(https, wss, sockets, timeoutMs),
  };
}

/** Terminates every client, destroys every socket, stops listening; never waits more than `timeoutMs`. */
export function closeBounded(
  server: { close(callback: () => void): unknown; closeAllConnections?: () => void },
  wss: WebSocketServer,
  sockets: Set<Socket>,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    for (const client of wss.clients) client.terminate();
    for (const socket of sockets) socket.destroy();
    wss.close();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeAllConnections?.();
  });
}
