/**
 * The call content kinds (C6–C8) as the wire contract checks them: per-action rules for `call`,
 * `call-log` durations, `call-key` sizes and one-emoji reactions. Anything refused here is
 * refused by every client before it reaches the call manager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSchema, envelopeSchema } from '@parley/protocol';

const callId = 'call-id-12345';
const account = 'a_AAAAAAAAAAAAAAAAAAAAAA';
const device = 'd_AAAAAAAAAAAAAAAAAAAAAA';
const call = (extra: Record<string, unknown>) => ({
  type: 'call',
  callId,
  media: 'audio',
  seq: 0,
  at: 1_700_000_000_000,
  ...extra,
});
const ok = (c: unknown) => contentSchema.safeParse(c).success;

test('call signalling: each action carries exactly what it needs', () => {
  const candidate = {
    candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host',
    sdpMid: '0',
    sdpMLineIndex: 0,
  };
  assert.ok(ok(call({ action: 'offer', sdp: 'v=0' })));
  assert.ok(ok(call({ action: 'answer', sdp: 'v=0' })));
  assert.ok(ok(call({ action: 'ice', candidates: [candidate] })));
  for (const action of ['ringing', 'accept', 'decline', 'busy', 'cancel', 'end'])
    assert.ok(ok(call({ action })), action);
  assert.ok(ok(call({ action: 'cancel', reason: 'timeout' })));
  assert.ok(ok(call({ action: 'end', reason: 'hangup' })));

  assert.ok(!ok(call({ action: 'offer' })), 'offer without sdp');
  assert.ok(!ok(call({ action: 'answer', sdp: 'v=0', candidates: [candidate] })), 'answer with candidates');
  assert.ok(!ok(call({ action: 'ice' })), 'ice without candidates');
  assert.ok(!ok(call({ action: 'ice', candidates: [] })), 'ice with an empty list');
  assert.ok(!ok(call({ action: 'ringing', sdp: 'v=0' })), 'ringing with sdp');
  assert.ok(!ok(call({ action: 'offer', sdp: 'v=0', reason: 'hangup' })), 'reason on an offer');
  assert.ok(!ok(call({ action: 'dial' })), 'unknown action');
  assert.ok(!ok(call({ action: 'accept', media: 'screen' })), 'unknown media');
  assert.ok(!ok(call({ action: 'accept', callId: 'short' })), 'call id too short');
  assert.ok(!ok(call({ action: 'accept', seq: -1 })), 'negative seq');
  assert.ok(!ok(call({ action: 'offer', sdp: 'x'.repeat(64 * 1024 + 1) })), 'oversized sdp');
  assert.ok(
    !ok(call({ action: 'ice', candidates: Array.from({ length: 33 }, () => candidate) })),
    'too many candidates',
  );
});

test('call-log, call-key and reaction contents', () => {
  const log = {
    type: 'call-log',
    callId,
    media: 'video',
    outcome: 'completed',
    durationMs: 61_000,
    startedAt: 1_700_000_000_000,
    caller: account,
  };
  assert.ok(ok(log));
  assert.ok(ok({ ...log, outcome: 'missed', durationMs: 0 }));
  assert.ok(!ok({ ...log, outcome: 'missed', durationMs: 10 }), 'only completed calls have a duration');
  assert.ok(!ok({ ...log, outcome: 'hung-up' }));
  assert.ok(!ok({ ...log, caller: 'someone' }));
  assert.ok(!ok({ ...log, durationMs: 25 * 3_600_000 }));

  const key = { type: 'call-key', callId, keyId: 7, key: 'A'.repeat(43) };
  assert.ok(ok(key));
  assert.ok(!ok({ ...key, key: 'A'.repeat(22) }), '16-byte key');
  assert.ok(!ok({ ...key, keyId: 2 ** 32 }));
  assert.ok(!ok({ ...key, keyId: -1 }));

  const reaction = {
    type: 'reaction',
    callId,
    emoji: '❤️',
    target: { accountId: account, deviceId: device },
    auto: false,
  };
  assert.ok(ok(reaction));
  for (const emoji of ['👍🏿', '👨‍👩‍👧', '🇫🇷']) assert.ok(ok({ ...reaction, emoji }), emoji);
  for (const emoji of ['', 'ok', '👍👍', '👍 ', ':)']) assert.ok(!ok({ ...reaction, emoji }), `"${emoji}"`);
  assert.ok(!ok({ ...reaction, target: { accountId: account } }));
  // Inside the envelope the same rules hold.
  assert.ok(envelopeSchema.safeParse({ v: 1, content: reaction, sentAt: 1 }).success);
  assert.ok(!envelopeSchema.safeParse({ v: 1, content: { ...reaction, emoji: 'x' }, sentAt: 1 }).success);
});
