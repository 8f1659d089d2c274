/**
 * The send queue of a managed connection: messages sent while it is not open wait here, bounded by
 * count and by bytes. A full queue refuses with ERR_QUEUE_FULL, synchronously: nothing is ever dropped.
 */
import { ConnectionError } from '../../machines/connection-error.js';
import type { MessageData, SendData } from '../transports/transport.js';

/** The `queue` option. */
export interface QueueOptions {
  /**
   * Messages that may wait, an integer from 1 to 2^32−1.
   * @default 1000
   */
  maxMessages?: number;
  /**
   * Bytes that may wait (UTF-8 bytes of text, bytes of binary), an integer from 1 to 2^53−1.
   * @default 1048576 (1 MiB)
   */
  maxBytes?: number;
}

export const DEFAULT_QUEUE: Readonly<Required<QueueOptions>> = Object.freeze({
  maxMessages: 1000,
  maxBytes: 1024 * 1024,
});

const encoder = new TextEncoder();

/** A message as queued: text, or a copy of the bytes (so the caller may reuse its buffer). */
export interface QueuedMessage {
  data: MessageData;
  bytes: number;
}

/** Checks what `send` got, without copying it; throws ConnectionError ERR_INVALID_DATA. */
export function checkSendData(data: SendData): string | Uint8Array {
  if (typeof data === 'string') return data;
  let view: Uint8Array;
  if (data instanceof Uint8Array) view = data;
  else if (data instanceof ArrayBuffer) view = new Uint8Array(data);
  else {
    const got = data === null ? 'null' : typeof data;
    throw new ConnectionError(
      'ERR_INVALID_DATA',
      `send takes a string, a Uint8Array or an ArrayBuffer, got ${got}`,
    );
  }
  if (isDetached(view.buffer)) {
    throw new ConnectionError(
      'ERR_INVALID_DATA',
      'send got a detached ArrayBuffer (or a view on one): its bytes were transferred away',
    );
  }
  return view;
}

/** Checks what `send` got and returns it as it will be queued (bytes copied); throws ERR_INVALID_DATA. */
export function toQueued(data: SendData): QueuedMessage {
  const checked = checkSendData(data);
  if (typeof checked === 'string') return { data: checked, bytes: utf8Length(checked) };
  return { data: checked.slice(), bytes: checked.byteLength };
}

function utf8Length(text: string): number {
  // Exact and allocation-free for ASCII, which most protocol messages are.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? text.length : encoder.encode(text).byteLength;
}

function isDetached(buffer: ArrayBufferLike): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false;
  const flag = (buffer as { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/** A FIFO bounded by count and bytes. */
export class SendQueue {
  readonly #items: QueuedMessage[] = [];
  #head = 0;
  #bytes = 0;

  constructor(
    readonly maxMessages: number,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Adds a message at the end, or throws ERR_QUEUE_FULL and leaves the queue as it was. */
  push(message: QueuedMessage): void {
    if (this.length >= this.maxMessages) {
      throw new ConnectionError(
        'ERR_QUEUE_FULL',
        `the send queue is full: ${this.length} messages wait (queue.maxMessages ${this.maxMessages}); nothing was queued`,
      );
    }
    if (this.#bytes + message.bytes > this.maxBytes) {
      throw new ConnectionError(
        'ERR_QUEUE_FULL',
        `the send queue is full: ${this.#bytes} bytes wait and this message has ${message.bytes} (queue.maxBytes ${this.maxBytes}); nothing was queued`,
      );
    }
    this.#items.push(message);
    this.#bytes += message.bytes;
  }

  /** The first message, without removing it. */
  peek(): QueuedMessage | undefined {
    return this.#items[this.#head];
  }

  /** Removes the first message. */
  shift(): QueuedMessage | undefined {
    const message = this.#items[this.#head];
    if (!message) return undefined;
    this.#items[this.#head] = undefined as unknown as QueuedMessage;
    this.#head++;
    this.#bytes -= message.bytes;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return message;
  }

  /** Removes and returns every message, in order. */
  drain(): MessageData[] {
    const out = this.#items.slice(this.#head).map((message) => message.data);
    this.#items.length = 0;
    this.#head = 0;
    this.#bytes = 0;
    return out;
  }
}
