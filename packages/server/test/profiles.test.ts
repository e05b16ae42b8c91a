/**
 * Encrypted profiles and visibility (C12) on SQLite and PostgreSQL: the server holds ciphertext
 * only; a stranger who knows a number gets nothing readable; contacts (accepted chats) read name,
 * about and photo with the profile key shared inside MLS; photo, about, last seen and online follow
 * their settings (default: contacts); `everyone` fields are readable by anyone; per-target fetch
 * limits; bad input changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, toB64 } from '@parley/protocol';
import { availableDrivers, newClient, startServer, storedBytes, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const PHOTO = new Uint8Array(4000).map((_, i) => (i * 31 + 7) & 255);

for (const { driver, skip } of drivers) {
  describe(`profiles on ${driver}`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver, { profileFetchesPerTarget: 6 });
    });
    after(async () => t?.close());

    it('a stranger gets nothing; a contact reads name, about and photo; the server holds ciphertext only', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const stranger = await newClient(t.url);
      await alice.setProfile({ name: 'Alice Liddell', about: 'Down the rabbit hole', photo: PHOTO });

      // The stranger found Alice's number: the server shows nothing (not even that a profile exists).
      const aliceId = await stranger.lookupPhone(alice.phone);
      assert.equal(await stranger.profileOf(aliceId), null);
      assert.deepEqual(await stranger.presenceOf(aliceId), {}, 'no online or last seen for strangers by default');

      // Alice writes to Bob: that accepts the chat and shares her profile key inside MLS.
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      await alice.sendText(conv, 'hello bob');
      await until(async () => (await bob.messages(conv)).find((m) => m.text === 'hello bob'));
      const seen = await bob.profileOf(alice.self.accountId);
      assert.equal(seen?.name, 'Alice Liddell');
      assert.equal(seen?.about, 'Down the rabbit hole');
      assert.deepEqual(seen?.photo, PHOTO);
      const presence = await bob.presenceOf(alice.self.accountId);
      assert.equal(presence.online, true);
      assert.ok(typeof presence.lastSeen === 'number');

      // A chat the stranger opens with Alice does not make the stranger her contact.
      const pushy = await stranger.startDirect(aliceId);
      await stranger.sendText(pushy, 'hi, you do not know me');
      await until(async () => (await alice.messages(pushy)).find((m) => m.text === 'hi, you do not know me'));
      assert.equal(await stranger.profileOf(aliceId), null);
      // ...but Alice may read the stranger's (he accepted by writing) once he has a profile.
      await stranger.setProfile({ name: 'Mr Nobody' });
      await stranger.sendText(pushy, 'second try');
      await until(async () => (await alice.messages(pushy)).find((m) => m.text === 'second try'));
      assert.equal((await alice.profileOf(stranger.self.accountId))?.name, 'Mr Nobody');

      const bytes = await storedBytes(t, 'SELECT account_id, name, about, photo FROM profiles');
      assert.ok(
        bytes.includes(Buffer.from(alice.self.accountId)) && bytes.includes(Buffer.from(stranger.self.accountId)),
        'the bytes searched hold the profiles',
      );
      for (const secret of ['Alice Liddell', 'Down the rabbit hole', 'Mr Nobody'])
        assert.ok(!bytes.includes(Buffer.from(secret)), `no plaintext ${secret}`);
      assert.ok(!bytes.includes(Buffer.from(PHOTO.subarray(100, 164))), 'no plaintext photo bytes');
      await Promise.all([alice.close(), bob.close(), stranger.close()]);
    });

    it('visibility: photo nobody, about everyone, last seen and online nobody', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const stranger = await newClient(t.url);
      await alice.setProfile({ name: 'Alice', about: 'Open book', photo: PHOTO });
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      await alice.sendText(conv, 'hi');
      await until(async () => (await bob.messages(conv)).length > 0);
      const s = await alice.settings({ photo: 'nobody', about: 'everyone', lastSeen: 'nobody', online: 'nobody' });
      assert.deepEqual(
        { photo: s.photo, about: s.about, lastSeen: s.lastSeen, online: s.online },
        { photo: 'nobody', about: 'everyone', lastSeen: 'nobody', online: 'nobody' },
      );
      const forBob = await bob.profileOf(alice.self.accountId);
      assert.equal(forBob?.name, 'Alice');
      assert.equal(forBob?.about, 'Open book');
      assert.equal(forBob?.photo, undefined, 'photo hidden from contacts too');
      const forStranger = await stranger.profileOf(alice.self.accountId);
      assert.deepEqual(forStranger, { about: 'Open book' }, 'a stranger reads only what was made public');
      assert.deepEqual(await bob.presenceOf(alice.self.accountId), {});
      await Promise.all([alice.close(), bob.close(), stranger.close()]);
    });

    it('limits profile fetches per requester and target', async () => {
      const alice = await newClient(t.url, undefined, { connect: false });
      const bob = await newClient(t.url, undefined, { connect: false });
      await alice.setProfile({ name: 'Rate' });
      let limited = false;
      for (let i = 0; i < 8; i++) {
        try {
          await bob.profileOf(alice.self.accountId);
        } catch (e) {
          assert.ok(e instanceof ParleyError && e.isRateLimited(), String(e));
          limited = true;
          assert.equal(i, 6, 'the seventh fetch within ten minutes is refused');
          break;
        }
      }
      assert.ok(limited);
      // The limit is per pair: Bob may still fetch someone else, and someone else may fetch Alice.
      const carol = await newClient(t.url, undefined, { connect: false });
      assert.equal(await bob.profileOf(carol.self.accountId), null);
      assert.equal(await carol.profileOf(alice.self.accountId), null);
      await Promise.all([alice.close(), bob.close(), carol.close()]);
    });

    it('a contact reads the profile of an account that reinstalled, and members who joined a group later read it too', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      await alice.setProfile({ name: 'Alice one' });
      await alice.setProfile({ name: 'Alice two' });
      const conv = await alice.startDirect(bob.self.accountId);
      await alice.sendText(conv, 'before');
      await until(async () => (await bob.messages(conv)).find((m) => m.text === 'before'));
      assert.equal((await bob.profileOf(alice.self.accountId))?.name, 'Alice two');

      // Alice re-registers her number on a new device: a fresh store, a new profile key.
      await alice.close();
      const again = await newClient(t.url, alice.phone);
      assert.equal(again.self.accountId, alice.self.accountId);
      await again.setProfile({ name: 'Alice reinstalled' });
      const conv2 = await again.startDirect(bob.self.accountId);
      await again.sendText(conv2, 'after');
      await until(async () => (await bob.messages(conv2)).find((m) => m.text === 'after'));
      assert.equal(
        (await bob.profileOf(alice.self.accountId))?.name,
        'Alice reinstalled',
        'the new key (and higher version) wins',
      );
      // Her own devices read everything and are not limited like others.
      for (let i = 0; i < 8; i++)
        assert.equal((await again.profileOf(alice.self.accountId))?.name, 'Alice reinstalled');

      // A group that grows: Carol joins after Alice already wrote, then Alice writes again.
      const carol = await newClient(t.url);
      const group = await again.createGroup('hikers', [bob.self.accountId]);
      await again.sendText(group, 'first');
      await again.addMembers(group, [carol.self.accountId]);
      await until(() => carol.history.conversation(group));
      // Carol is already a member of a chat Alice accepted, so the server hands her the ciphertext,
      // but she cannot read it before Alice's next message carries the key.
      assert.deepEqual(await carol.profileOf(alice.self.accountId), {}, 'nothing readable before Alice writes again');
      await again.sendText(group, 'welcome carol');
      await until(async () => (await carol.messages(group)).find((m) => m.text === 'welcome carol'));
      // Alice accepted the group by writing, so Carol is her contact and now holds her key.
      assert.equal((await carol.profileOf(alice.self.accountId))?.name, 'Alice reinstalled');
      await Promise.all([again.close(), bob.close(), carol.close()]);
    });

    it('refuses malformed profiles and settings and changes nothing', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      await c.setProfile({ name: 'Before' });
      const before = await t.server.ctx.storage.profiles.getProfile(c.self.accountId);
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${deviceToken(c)}` };
      const bad: [string, unknown, string][] = [
        ['oversized photo', { version: 9, photo: toB64(new Uint8Array(200 * 1024)) }, 'bad_request'],
        ['not base64url', { version: 9, name: 'a+b/c=' }, 'bad_request'],
        ['negative version', { version: -1 }, 'bad_request'],
        ['open without key', { version: 9, about: toB64(new Uint8Array(40)), open: ['about'] }, 'bad_request'],
        ['unknown field', { version: 9, phone: '+1' }, 'bad_request'],
      ];
      for (const [what, body, code] of bad) {
        const r = await fetch(`${t.url}/v1/accounts/me/profile`, {
          method: 'PUT',
          headers,
          body: JSON.stringify(body),
        });
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, code, what);
      }
      const s = await fetch(`${t.url}/v1/accounts/me/settings`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ photo: 'friends' }),
      });
      assert.equal(s.status, 400);
      assert.deepEqual(await t.server.ctx.storage.profiles.getProfile(c.self.accountId), before);
      assert.equal((await t.server.ctx.storage.profiles.getPrivacy(c.self.accountId)).photo, 'contacts');
      await c.close();
    });
  });
}
