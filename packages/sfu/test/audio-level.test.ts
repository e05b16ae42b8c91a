import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket } from 'werift';
import {
  ONE_BYTE_PROFILE,
  audioLevelFromElements,
  decodeAudioLevel,
  encodeAudioLevel,
  findExtensionElement,
  readAudioLevel,
} from '../src/index.ts';

/** Builds an RTP packet by hand: fixed header, CSRCs, extension header and block, payload. */
function rtp(opts: {
  profile?: number;
  block?: number[];
  csrcs?: number;
  payload?: number[];
  version?: number;
  noExtension?: boolean;
  lengthWords?: number;
}): Uint8Array {
  const block = opts.block ?? [];
  const padded = [...block, ...new Array((4 - (block.length % 4)) % 4).fill(0)];
  const csrcs = opts.csrcs ?? 0;
  const bytes: number[] = [
    ((opts.version ?? 2) << 6) | (opts.noExtension ? 0 : 0x10) | csrcs,
    111,
    0x12,
    0x34,
    0,
    0,
    0x03,
    0xc0,
    0xde,
    0xad,
    0xbe,
    0xef,
  ];
  for (let i = 0; i < csrcs; i++) bytes.push(0, 0, 0, i + 1);
  if (!opts.noExtension) {
    const profile = opts.profile ?? ONE_BYTE_PROFILE;
    const words = opts.lengthWords ?? padded.length / 4;
    bytes.push(profile >> 8, profile & 0xff, words >> 8, words & 0xff, ...padded);
  }
  bytes.push(...(opts.payload ?? [1, 2, 3, 4]));
  return Uint8Array.from(bytes);
}

test('one-byte form: finds the level among other elements, after CSRCs and padding', () => {
  // mid "0" (id 1, 1 byte), two padding bytes, audio level (id 3): V=1, 35 -dBov.
  const p = rtp({ block: [0x10, 0x30, 0x00, 0x00, 0x30, 0x80 | 35], csrcs: 2 });
  assert.deepEqual(readAudioLevel(p, 3), { level: 35, voice: true });
  assert.equal(readAudioLevel(p, 2), undefined, 'absent id');
  // A longer element (some senders pad the level to 4 bytes) is read from its first byte.
  assert.deepEqual(readAudioLevel(rtp({ block: [0x23, 0x05, 0, 0, 0] }), 2), { level: 5, voice: false });
});

test('two-byte form: ids above 14, any appbits, explicit lengths and padding', () => {
  const block = [0x00, 200, 1, 0x80 | 127, 0x00, 7, 2, 0xaa, 0xbb, 9, 1, 42];
  for (const profile of [0x1000, 0x1005, 0x100f]) {
    const p = rtp({ profile, block });
    assert.deepEqual(readAudioLevel(p, 200), { level: 127, voice: true });
    assert.deepEqual(readAudioLevel(p, 9), { level: 42, voice: false });
    assert.equal(readAudioLevel(p, 8), undefined);
  }
  // A zero-length element carries no level.
  assert.equal(readAudioLevel(rtp({ profile: 0x1000, block: [5, 0] }), 5), undefined);
});

test('RFC 8285 id 15 ends one-byte parsing; ids outside each form never match', () => {
  const p = rtp({ block: [0xf0, 0x20, 0x11] });
  assert.equal(readAudioLevel(p, 2), undefined, 'elements after id 15 are not considered');
  const block = Uint8Array.from([0x00, 0x20, 0x11]);
  assert.equal(findExtensionElement(ONE_BYTE_PROFILE, block, 0), undefined);
  assert.equal(findExtensionElement(ONE_BYTE_PROFILE, block, 15), undefined);
  assert.equal(findExtensionElement(0x1000, block, 0), undefined);
  assert.equal(findExtensionElement(0x1000, block, 256), undefined);
  assert.equal(findExtensionElement(0xabcd, block, 2), undefined, 'not an RFC 8285 profile');
});

test('malformed packets give no level and never throw', () => {
  const good = rtp({ block: [0x20, 50] });
  assert.deepEqual(readAudioLevel(good, 2), { level: 50, voice: false });
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['shorter than the fixed header', good.subarray(0, 11)],
    ['RTP version 1', rtp({ block: [0x20, 50], version: 1 })],
    ['no extension bit', rtp({ noExtension: true })],
    ['extension header cut off', good.subarray(0, 14)],
    ['block longer than the packet', rtp({ block: [0x20, 50], lengthWords: 200, payload: [] })],
    ['CSRC list longer than the packet', rtp({ block: [], csrcs: 15, noExtension: false }).subarray(0, 20)],
    ['one-byte element running past the block', rtp({ block: [0x23, 50, 0, 0], lengthWords: 1, payload: [] })],
    ['two-byte header cut after the id', rtp({ profile: 0x1000, block: [0, 0, 0, 2] })],
    ['two-byte element running past the block', rtp({ profile: 0x1000, block: [2, 9, 1, 1] })],
  ];
  for (const [name, packet] of cases) assert.equal(readAudioLevel(packet, 2), undefined, name);
  assert.equal(decodeAudioLevel(undefined), undefined);
  assert.equal(decodeAudioLevel(new Uint8Array(0)), undefined);
});

test('random and mutated packets never throw and only yield levels in range', () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const valid = rtp({ block: [0x10, 0x30, 0x20, 0x80 | 20], payload: [9, 9, 9, 9, 9, 9] });
  for (let i = 0; i < 20_000; i++) {
    let p: Uint8Array;
    if (i % 2 === 0) {
      p = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      if (p.length > 0) p[0] = 0x90 | (p[0]! & 0x0f); // mostly version 2 with X set, so parsing goes deep
    } else {
      p = Uint8Array.from(valid);
      for (let k = 0; k < 3; k++) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
      p = p.subarray(0, Math.floor(rand() * (p.length + 1)));
    }
    const id = 1 + Math.floor(rand() * 20);
    const r = readAudioLevel(p, id);
    if (r) {
      assert.ok(r.level >= 0 && r.level <= 127);
      assert.equal(typeof r.voice, 'boolean');
    }
  }
});

test('encode/decode round-trips every level; out-of-range levels are clamped', () => {
  for (let level = 0; level <= 127; level++) {
    for (const voice of [true, false])
      assert.deepEqual(decodeAudioLevel(encodeAudioLevel(level, voice)), { level, voice });
  }
  assert.deepEqual(decodeAudioLevel(encodeAudioLevel(200, false)), { level: 127, voice: false });
  assert.deepEqual(decodeAudioLevel(encodeAudioLevel(-3, true)), { level: 0, voice: true });
});

test('reads packets werift serialises, in both forms, and its split-out elements', () => {
  for (const extensionProfile of [0xbede, 0x1000] as const) {
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: 7,
      timestamp: 960,
      ssrc: 42,
      extensionProfile,
      extensions: [
        { id: 1, payload: Buffer.from('12') },
        { id: 4, payload: Buffer.from(encodeAudioLevel(17, true)) },
      ],
    });
    const bytes = new RtpPacket(header, Buffer.from([1, 2, 3])).serialize();
    assert.deepEqual(readAudioLevel(bytes, 4), { level: 17, voice: true }, `profile ${extensionProfile.toString(16)}`);
    assert.deepEqual(audioLevelFromElements(RtpPacket.deSerialize(bytes).header.extensions, 4), {
      level: 17,
      voice: true,
    });
  }
  // An empty element must not read as "0 dBov, loudest" (what werift's own decoder returns).
  assert.equal(audioLevelFromElements([{ id: 4, payload: new Uint8Array(0) }], 4), undefined);
  assert.equal(audioLevelFromElements([{ id: 3, payload: Uint8Array.of(5) }], 4), undefined);
});
