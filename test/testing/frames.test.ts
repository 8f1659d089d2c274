import { describe, expect, it } from 'vitest';
import {
  encodeClosePayload,
  encodeFrame,
  type FrameInfo,
  FrameReader,
  Opcode,
} from '../../src/testing/index.js';

const T = { timeout: 5000 };

describe('FrameReader onFrame (RFC 6455 §5.2)', T, () => {
  it('reports every whole frame before its event, fragments one by one, even split across chunks', () => {
    const seen: (FrameInfo | string)[] = [];
    const reader = new FrameReader({ onFrame: (f) => seen.push(f) });
    const bytes = Buffer.concat([
      encodeFrame(Opcode.text, Buffer.from('he'), { fin: false, mask: true }),
      encodeFrame(Opcode.ping, Buffer.from('x'), { mask: true }),
      encodeFrame(Opcode.continuation, Buffer.from('llo'), { mask: true }),
    ]);
    for (const byte of bytes) for (const e of reader.receive(Buffer.from([byte]))) seen.push(e.type);
    expect(seen).toEqual([
      { opcode: Opcode.text, fin: false, length: 2 },
      { opcode: Opcode.ping, fin: true, length: 1 },
      'ping',
      { opcode: Opcode.continuation, fin: true, length: 3 },
      'text',
    ]);
  });

  it('reports no frame the reader fails on, and nothing after a Close (§5.5.1)', () => {
    const seen: FrameInfo[] = [];
    const reader = new FrameReader({ onFrame: (f) => seen.push(f) });
    reader.receive(encodeFrame(Opcode.close, encodeClosePayload(1000), { mask: true }));
    reader.receive(encodeFrame(Opcode.ping, new Uint8Array(0), { mask: true }));
    expect(seen).toEqual([{ opcode: Opcode.close, fin: true, length: 2 }]);

    const failing: FrameInfo[] = [];
    const strict = new FrameReader({ onFrame: (f) => failing.push(f) });
    expect(strict.receive(encodeFrame(0x3, new Uint8Array(0), { mask: true }))).toMatchObject([
      { type: 'fail', code: 1002 },
    ]);
    expect(strict.receive(encodeFrame(Opcode.text, Buffer.from('x')))).toEqual([]);
    expect(failing).toEqual([]);
  });
});
