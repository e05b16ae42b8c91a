/**
 * What a Web Push wake-up shows (C18, `notificationFor`), against a fixed "now": nothing when this
 * device has notifications off or the chat is muted (a mute past its time no longer counts); the
 * chat's name as the app shows it, or "Parley" when names are hidden or the chat is unknown; one
 * notification per chat (its tag) and the ids a click needs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MUTED_ALWAYS, notificationFor, DEFAULT_NOTIFICATION_SETTINGS, type NotificationView } from '@parley/sdk';
import type { PushWake } from '@parley/protocol';

const NOW = 1_765_000_000_000;
const conv = 'AAAAAAAAAAAAAAAAAAAAAA';
const wake: PushWake = {
  v: 1,
  t: 'message',
  conversationId: conv,
  messageId: 'm_BBBBBBBBBBBBBBBBBBBBBB',
  from: 'a_CCCCCCCCCCCCCCCCCCCCCC',
  sentAt: NOW - 5,
};
const view = (chat: NotificationView['chats'][string], settings = DEFAULT_NOTIFICATION_SETTINGS): NotificationView => ({
  settings,
  chats: { [conv]: chat },
});

describe('notificationFor', () => {
  it('shows the chat name and "New message", tagged per chat, with the ids a click needs', () => {
    assert.deepEqual(notificationFor(wake, view({ name: 'Ana' }), NOW), {
      show: true,
      title: 'Ana',
      body: 'New message',
      tag: `chat:${conv}`,
      data: { conversationId: conv, messageId: wake.messageId, sentAt: wake.sentAt },
    });
  });

  it('shows nothing when this device has notifications off', () => {
    const off = { ...DEFAULT_NOTIFICATION_SETTINGS, enabled: false };
    assert.deepEqual(notificationFor(wake, view({ name: 'Ana' }, off), NOW), { show: false, reason: 'disabled' });
  });

  it('shows nothing for a muted chat, until its mute has passed', () => {
    assert.deepEqual(notificationFor(wake, view({ name: 'Ana', mutedUntil: MUTED_ALWAYS }), NOW), {
      show: false,
      reason: 'muted',
    });
    assert.equal(notificationFor(wake, view({ name: 'Ana', mutedUntil: NOW + 1 }), NOW).show, false);
    assert.equal(notificationFor(wake, view({ name: 'Ana', mutedUntil: NOW - 1 }), NOW).show, true);
  });

  it('hides the name when asked, and for a chat this device does not know', () => {
    const hidden = { ...DEFAULT_NOTIFICATION_SETTINGS, showNames: false };
    const a = notificationFor(wake, view({ name: 'Ana' }, hidden), NOW);
    assert.equal(a.show && a.title, 'Parley');
    const b = notificationFor({ ...wake, conversationId: 'ZZZZZZZZZZZZZZZZZZZZZZ' }, view({ name: 'Ana' }), NOW);
    assert.equal(b.show && b.title, 'Parley');
    const c = notificationFor(wake, undefined, NOW);
    assert.equal(c.show && c.title, 'Parley', 'no snapshot yet: the defaults');
  });
});
