/**
 * Privacy features of the web client in real Chromium (C2, C12, C13): Alice (desktop) sets her
 * profile name, about and photo; Bob (phone) sees none of it until Alice writes to him, then her
 * name and the avatar decrypted on his device; with photo visibility "nobody" the photo is gone
 * after a reload. Usernames: Bob and Carol (phone) take one each ("taken" is refused readably) and
 * Alice chats with Carol by username without either seeing the other's number. Safety numbers:
 * both sides show the same 60 digits, Alice's QR decodes to the code Bob's side shows, and Bob
 * checks a picture of it. Finally Bob re-registers (a new identity key): Alice is warned, and the
 * new Bob scans Alice's new code with his (fake) camera.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch, launchWith } from './helpers/browser.ts';
import { decodeQrPng, twoColourPng, writeY4m } from './helpers/images.ts';

const skip = browserUnavailable();

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } as const;
const DESKTOP = { viewport: { width: 1280, height: 800 } } as const;

/** What a page shows of an `<img>`: its natural size, two pixels and where it comes from. */
function photoOf(img: Locator) {
  // No named helpers inside: the page runs this function's source as it is.
  return img.evaluate(async (el: HTMLImageElement) => {
    await el.decode();
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(el, 0, 0);
    const y = Math.floor(c.height / 2);
    const left = Array.from(ctx.getImageData(Math.floor(c.width / 4), y, 1, 1).data.slice(0, 3));
    const right = Array.from(ctx.getImageData(Math.floor((3 * c.width) / 4), y, 1, 1).data.slice(0, 3));
    return { width: el.naturalWidth, height: el.naturalHeight, left, right, src: el.src };
  });
}

/** Close to a colour (JPEG moves channels a little). */
const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) < 40);

/** Profile fetches (`GET /v1/accounts/ID/profile`) a page made, by status. */
function recordProfileFetches(page: Page): number[] {
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (/^\/v1\/accounts\/[^/]+\/profile$/.test(new URL(r.url()).pathname) && r.request().method() === 'GET')
      statuses.push(r.status());
  });
  return statuses;
}

/** Presence fetches a page made. */
function recordPresenceFetches(page: Page): number[] {
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (/^\/v1\/accounts\/[^/]+\/presence$/.test(new URL(r.url()).pathname)) statuses.push(r.status());
  });
  return statuses;
}

/** True when nothing makes the page wider than `width` (a phone layout must not scroll sideways). */
function fitsWidth(page: Page, width: number): Promise<boolean> {
  return page.evaluate((w) => document.documentElement.scrollWidth <= w, width);
}

async function openSettings(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(() => page.getByRole('heading', { name: 'Settings' }).isVisible(), 'settings open');
}

async function closeSettings(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Back to chats' }).click();
  await expect(() => page.getByRole('navigation', { name: 'Chats' }).isVisible(), 'chat list back');
}

async function setUsername(page: Page, name: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Username' }).fill(name);
  await page.getByRole('button', { name: 'Save username' }).click();
}

/** The 12 groups of the safety number shown in the open "Verify safety number" dialog. */
async function safetyDigits(page: Page): Promise<string[]> {
  const group = page
    .getByRole('dialog', { name: 'Verify safety number' })
    .getByRole('group', { name: 'Safety number' });
  await group.waitFor();
  return group.locator('span').allTextContents();
}

async function openSafety(page: Page): Promise<Locator> {
  await page.locator('.chat-head').getByRole('button', { name: 'Verify safety number' }).click();
  const dialog = page.getByRole('dialog', { name: 'Verify safety number' });
  await dialog.getByRole('group', { name: 'Safety number' }).waitFor();
  return dialog;
}

describe('web client privacy in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-privacy-'));
  let server: ServerProcess;
  let browser: Browser;
  let cameraBrowser: Browser | undefined;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let bobContext: BrowserContext;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550171', bob: '+12025550172', carol: '+12025550173' };
  const photoPath = join(tmp, 'photo.png');
  const cameraFile = join(tmp, 'camera.y4m');
  let bobFetches: number[];
  let alicePresence: number[];
  const RED: [number, number, number] = [220, 30, 30];
  const BLUE: [number, number, number] = [30, 60, 220];
  let firstNumber: string[] = [];

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext(DESKTOP);
    bobContext = await browser.newContext(PHONE);
    const carolContext = await browser.newContext(PHONE);
    contexts.push(desktop, bobContext, carolContext);
    alice = await desktop.newPage();
    bob = await bobContext.newPage();
    carol = await carolContext.newPage();
    bobFetches = recordProfileFetches(bob);
    alicePresence = recordPresenceFetches(alice);
    // 600×400, red left and blue right: the centre-cropped square avatar is red left, blue right.
    writeFileSync(photoPath, twoColourPng(600, 400, RED, BLUE));
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser, cameraBrowser], server, tmp }));

  it(
    'shows a profile only once its owner wrote, and the photo only while its visibility allows',
    { timeout: 180_000 },
    async () => {
      await registerInBrowser(alice, server.url, phones.alice);
      await registerInBrowser(bob, server.url, phones.bob);

      // Alice's settings: defaults, then her profile.
      await openSettings(alice);
      assert.equal(await alice.getByLabel('Who can see my profile photo').inputValue(), 'contacts');
      assert.equal(await alice.getByLabel('Who can see my about').inputValue(), 'contacts');
      assert.equal(await alice.getByLabel('Who can see my last seen').inputValue(), 'contacts');
      assert.equal(await alice.getByLabel('Who can see when I am online').inputValue(), 'contacts');
      assert.equal(await alice.getByLabel('Who can find me by my number').inputValue(), 'everyone');
      await alice.getByRole('textbox', { name: 'Your name' }).fill('Alice Liddell');
      await alice.getByRole('textbox', { name: 'About' }).fill('Down the rabbit hole');
      await alice.getByRole('button', { name: 'Save profile' }).click();
      await expect(() => alice.getByText('Profile saved.').isVisible(), 'profile saved');
      await alice.getByLabel('Choose photo').setInputFiles(photoPath);
      await expect(() => alice.getByText('Profile photo updated.').isVisible(), 'photo saved');
      const own = await photoOf(alice.getByRole('img', { name: 'Your profile photo' }));
      assert.deepEqual([own.width, own.height], [256, 256], 'a 256×256 avatar made on the device');
      assert.ok(near(own.left, RED) && near(own.right, BLUE), JSON.stringify(own));
      // The values survive a reload (ownProfile reads them back).
      await alice.reload();
      await openSettings(alice);
      await expect(
        async () => (await alice.getByRole('textbox', { name: 'Your name' }).inputValue()) === 'Alice Liddell',
        'name read back',
      );
      assert.equal(await alice.getByRole('textbox', { name: 'About' }).inputValue(), 'Down the rabbit hole');
      assert.equal((await photoOf(alice.getByRole('img', { name: 'Your profile photo' }))).width, 256);
      await closeSettings(alice);

      // Before any chat, Bob's device has nothing of Alice.
      assert.equal(await bob.getByRole('button', { name: /Open chat/ }).count(), 0);
      assert.ok(!(await bob.locator('body').innerText()).includes('Alice'));

      // Alice opens a chat but has not written: Bob sees the chat, and the server still hides her profile.
      await alice.getByRole('button', { name: 'New chat' }).click();
      await alice.getByLabel('Phone number or username').fill(phones.bob);
      await alice.getByRole('button', { name: 'Start chat' }).click();
      await expect(() => alice.getByRole('textbox', { name: 'Message' }).isVisible(), 'chat open for alice');
      const bobChat = bob.getByRole('button', { name: /^Open chat / });
      await expect(() => bobChat.first().isVisible(), 'chat appears for bob');
      await expect(() => bobFetches.length > 0, 'bob asked for the profile');
      assert.deepEqual(bobFetches, [404], 'profile_hidden before Alice wrote');
      assert.match((await bobChat.first().getAttribute('aria-label'))!, /^Open chat Contact /);
      assert.equal(await bobChat.first().locator('img').count(), 0);
      assert.ok(!(await bob.locator('body').innerText()).includes('Alice'));

      // Alice writes: her profile key reaches Bob inside the chat, and the server lets him see the fields.
      await alice.getByRole('textbox', { name: 'Message' }).fill('Hello Bob, it is Alice');
      await alice.getByRole('button', { name: 'Send' }).click();
      const fromAlice = bob.getByRole('button', { name: /^Open chat Alice Liddell/ });
      await expect(() => fromAlice.isVisible(), "bob's list shows Alice's profile name");
      await expect(async () => (await fromAlice.locator('img').count()) === 1, "bob's list shows Alice's photo");
      const listed = await photoOf(fromAlice.locator('img'));
      assert.deepEqual([listed.width, listed.height], [256, 256]);
      assert.ok(listed.src.startsWith('blob:'), 'decrypted on the device');
      assert.ok(near(listed.left, RED) && near(listed.right, BLUE), JSON.stringify(listed));
      await fromAlice.click();
      await expect(
        () => bob.locator('.messages').getByText('Hello Bob, it is Alice').isVisible(),
        'bob reads the message',
      );
      await expect(() => bob.getByRole('heading', { name: 'Alice Liddell' }).isVisible(), 'header shows the name');
      const header = await photoOf(bob.getByRole('img', { name: 'Profile photo of Alice Liddell' }));
      assert.deepEqual([header.width, header.height], [256, 256]);
      assert.ok(near(header.left, RED) && near(header.right, BLUE));
      // Alice accepted the chat, so Bob (her contact) sees that she is online.
      await expect(
        async () => (await bob.locator('.chat-head .presence').textContent()) === 'online',
        'bob sees alice online',
      );
      // Contact info shows her about text.
      await bob.getByRole('button', { name: /^Contact info for / }).click();
      const info = bob.getByRole('dialog', { name: 'Contact info' });
      await expect(() => info.getByText('Down the rabbit hole').isVisible(), 'about in contact info');
      await info.getByRole('button', { name: 'Close' }).click();
      await expect(async () => !(await info.isVisible()), 'contact info closed');
      assert.ok(bobFetches.length <= 3, `profile fetches stay few: ${bobFetches.join(',')}`);
      assert.ok(await fitsWidth(bob, 390), 'phone chat fits');

      // Bob never wrote to Alice: she sees neither his presence nor (he has none) a profile.
      await expect(() => alicePresence.length > 0, 'alice asked for presence');
      await alice.waitForTimeout(500);
      assert.equal(await alice.locator('.chat-head .presence').count(), 0);

      // Photo visible to nobody: after a reload Bob still sees the name, not the photo.
      await openSettings(alice);
      await alice.getByLabel('Who can see my profile photo').selectOption('nobody');
      await expect(
        () => alice.getByText('Saved: who can see my profile photo: nobody.').isVisible(),
        'visibility saved',
      );
      await closeSettings(alice);
      const before = bobFetches.length;
      await bob.reload();
      await expect(() => bob.getByRole('status', { name: 'Connection: online' }).isVisible(), 'bob online again');
      await expect(() => bobFetches.length > before, 'bob fetched the profile again');
      await expect(() => bob.getByRole('button', { name: /^Open chat Alice Liddell/ }).isVisible(), 'name still shown');
      assert.equal(
        await bob
          .getByRole('button', { name: /^Open chat Alice Liddell/ })
          .locator('img')
          .count(),
        0,
        'photo hidden',
      );
      await bob.getByRole('button', { name: /^Open chat Alice Liddell/ }).click();
      await expect(() => bob.getByRole('heading', { name: 'Alice Liddell' }).isVisible(), 'header name');
      assert.equal(
        await bob.getByRole('img', { name: 'Profile photo of Alice Liddell' }).count(),
        0,
        'no photo in the header',
      );
      assert.ok(
        bobFetches.every((s) => s !== 429),
        `never rate-limited: ${bobFetches.join(',')}`,
      );
    },
  );

  it('finds people by username without either side seeing the other number', { timeout: 180_000 }, async () => {
    await registerInBrowser(carol, server.url, phones.carol);

    // Bob takes a username (a malformed one is refused readably first).
    await bob.getByRole('button', { name: 'Back' }).click();
    await openSettings(bob);
    await setUsername(bob, 'bo.1');
    await expect(
      () => bob.getByRole('alert').filter({ hasText: 'A username looks like sam.42' }).isVisible(),
      'invalid username explained',
    );
    await setUsername(bob, 'White_Rabbit.42');
    await expect(() => bob.getByText('Your username is now @white_rabbit.42.').isVisible(), 'bob has a username');
    await closeSettings(bob);
    // The name Settings shows is the device's own record (`client.username()`, in the SDK's store),
    // not page storage: without the key the page once kept it under, a reload still shows it.
    await bob.evaluate(() => {
      for (const k of Object.keys(localStorage)) if (k.startsWith('parley.usernames.own.')) localStorage.removeItem(k);
    });
    await bob.reload();
    await expect(
      () => bob.getByRole('status', { name: 'Connection: online' }).isVisible(),
      'bob online after the reload',
    );
    await openSettings(bob);
    await expect(
      () => bob.locator('.current-username').filter({ hasText: '@white_rabbit.42' }).isVisible(),
      'username read back from the device store',
    );
    assert.equal(await bob.getByRole('textbox', { name: 'Username' }).inputValue(), 'white_rabbit.42');
    await closeSettings(bob);

    // Carol cannot take it, takes her own and names herself.
    await openSettings(carol);
    await setUsername(carol, 'white_rabbit.42');
    await expect(
      () => carol.getByRole('alert').filter({ hasText: 'That username is taken' }).isVisible(),
      'taken explained',
    );
    await setUsername(carol, 'queen_of_hearts.77');
    await expect(
      () => carol.getByText('Your username is now @queen_of_hearts.77.').isVisible(),
      'carol has a username',
    );
    await carol.getByRole('textbox', { name: 'Your name' }).fill('Carol Hearts');
    await carol.getByRole('button', { name: 'Save profile' }).click();
    await expect(() => carol.getByText('Profile saved.').isVisible(), 'carol profile saved');
    assert.ok(await fitsWidth(carol, 390), 'phone settings fit');
    await closeSettings(carol);

    // A username nobody has is explained.
    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.getByLabel('Phone number or username').fill('@nobody_here.99');
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await expect(
      () => alice.getByRole('alert').filter({ hasText: 'Nobody has the username @nobody_here.99' }).isVisible(),
      'unknown username explained',
    );

    // Alice starts a chat with Carol by username.
    await alice.getByLabel('Phone number or username').fill('@queen_of_hearts.77');
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await expect(
      () => alice.getByRole('heading', { name: '@queen_of_hearts.77' }).isVisible(),
      'chat titled by the username',
    );
    await alice.getByRole('textbox', { name: 'Message' }).fill('Hello Carol, found you by username');
    await alice.getByRole('button', { name: 'Send' }).click();
    const fromAlice = carol.getByRole('button', { name: /^Open chat Alice Liddell/ });
    await expect(() => fromAlice.isVisible(), "carol sees Alice's name");
    assert.equal(await fromAlice.locator('img').count(), 0, 'photo is for nobody now');
    await fromAlice.click();
    await expect(
      () => carol.locator('.messages').getByText('Hello Carol, found you by username').isVisible(),
      'carol reads it',
    );
    await carol.getByRole('textbox', { name: 'Message' }).fill('Hello Alice');
    await carol.getByRole('button', { name: 'Send' }).click();
    await expect(
      () => alice.getByRole('heading', { name: 'Carol Hearts' }).isVisible(),
      "alice sees Carol's name once she wrote",
    );
    await expect(
      () => alice.locator('.messages').getByText('Hello Alice', { exact: true }).isVisible(),
      'alice reads the reply',
    );
    await alice.getByRole('button', { name: /^Contact info for / }).click();
    const info = alice.getByRole('dialog', { name: 'Contact info' });
    await expect(() => info.getByText('@queen_of_hearts.77').isVisible(), 'found by username');
    assert.equal(await info.getByText('Phone number').count(), 0);
    await info.getByRole('button', { name: 'Close' }).click();

    // Carol writes to Bob by his username.
    await carol.getByRole('button', { name: 'Back' }).click();
    await carol.getByRole('button', { name: 'New chat' }).click();
    await carol.getByLabel('Phone number or username').fill('@white_rabbit.42');
    await carol.getByRole('button', { name: 'Start chat' }).click();
    await expect(() => carol.getByRole('heading', { name: '@white_rabbit.42' }).isVisible(), 'carol chat with bob');
    await carol.getByRole('textbox', { name: 'Message' }).fill('Hello Mr Rabbit');
    assert.ok(await fitsWidth(carol, 390), 'the phone layout does not overflow with a long title');
    await carol.getByRole('button', { name: 'Send' }).click();
    await expect(
      () => bob.getByRole('button', { name: /^Open chat Carol Hearts/ }).isVisible(),
      'bob sees Carol by name',
    );

    // Nobody's number reached anyone who did not already have it.
    for (const [page, hidden] of [
      [alice, phones.carol],
      [carol, phones.alice],
      [carol, phones.bob],
      [bob, phones.carol],
    ] as const) {
      assert.ok(!(await page.content()).includes(hidden), `${hidden} must not appear`);
    }
  });

  it('shows the same safety number on both sides and checks the QR code', { timeout: 180_000 }, async () => {
    // Alice goes through Contact info, Bob through the header's shield button.
    await alice.getByRole('button', { name: `Open chat ${phones.bob}` }).click();
    await alice.getByRole('button', { name: /^Contact info for / }).click();
    await alice
      .getByRole('dialog', { name: 'Contact info' })
      .getByRole('button', { name: 'Verify safety number' })
      .click();
    const aliceDialog = alice.getByRole('dialog', { name: 'Verify safety number' });
    await aliceDialog.getByRole('group', { name: 'Safety number' }).waitFor();
    assert.equal(await alice.getByRole('dialog', { name: 'Contact info' }).count(), 0, 'contact info gave way');
    await bob.getByRole('button', { name: /^Open chat Alice Liddell/ }).click();
    const bobDialog = await openSafety(bob);

    const a = await safetyDigits(alice);
    const b = await safetyDigits(bob);
    assert.equal(a.length, 12);
    assert.ok(
      a.every((g) => /^\d{5}$/.test(g)),
      a.join(' '),
    );
    assert.deepEqual(b, a, 'both sides show the same 60 digits');
    firstNumber = a;
    assert.equal(await aliceDialog.getByRole('status').filter({ hasText: 'Not verified yet.' }).count(), 1);

    // Alice's QR, decoded from a screenshot, is the code Bob's side shows.
    const qrShot = await aliceDialog.getByRole('img', { name: /^QR code of your safety number/ }).screenshot();
    const decoded = decodeQrPng(qrShot);
    assert.ok(decoded?.startsWith('parley-sn1:'), String(decoded));
    await bobDialog.getByText('Show the code as text').click();
    const bobCode = await bobDialog.getByRole('textbox', { name: 'Your code as text' }).inputValue();
    assert.equal(decoded, bobCode);
    assert.equal(
      decodeQrPng(await bobDialog.getByRole('img', { name: /^QR code of your safety number/ }).screenshot()),
      bobCode,
    );

    // Bob checks a picture of Alice's code.
    const picture = join(tmp, 'alice-qr.png');
    writeFileSync(picture, qrShot);
    await bobDialog.getByLabel('Check a picture of their code').setInputFiles(picture);
    await expect(
      () => bobDialog.getByText(/The code matches \(read from the picture\)/).isVisible(),
      'picture matches',
    );
    await expect(
      () => bobDialog.getByText("You have verified Alice Liddell's safety number.").isVisible(),
      'bob verified',
    );
    await bobDialog.getByRole('button', { name: 'Close' }).click();
    await expect(() => bob.getByRole('img', { name: 'Safety number verified' }).isVisible(), 'verified badge');

    // Alice pastes codes: not a code, a wrong one, then Bob's.
    const paste = aliceDialog.getByRole('textbox', { name: 'Or paste their code' });
    await paste.fill('hello');
    await aliceDialog.getByRole('button', { name: 'Check code' }).click();
    await expect(
      () => aliceDialog.getByRole('alert').filter({ hasText: 'not a Parley safety-number code' }).isVisible(),
      'not a code',
    );
    const wrong = bobCode.slice(0, -4) + (bobCode.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await paste.fill(wrong);
    await aliceDialog.getByRole('button', { name: 'Check code' }).click();
    await expect(
      () => aliceDialog.getByRole('alert').filter({ hasText: 'This code does not match' }).isVisible(),
      'mismatch',
    );
    await paste.fill(bobCode);
    await aliceDialog.getByRole('button', { name: 'Check code' }).click();
    await expect(() => aliceDialog.getByText(/The code matches \(pasted\)/).isVisible(), 'pasted code matches');
    await aliceDialog.getByRole('button', { name: 'Close' }).click();
  });

  it(
    'warns when a contact re-registers with a new key, and scans the new code with the camera',
    { timeout: 180_000 },
    async () => {
      // The new Bob runs in a browser whose fake camera plays a file written just before scanning.
      writeY4m(cameraFile, twoColourPng(64, 64, [255, 255, 255], [255, 255, 255]));
      cameraBrowser = await launchWith([`--use-file-for-fake-video-capture=${cameraFile}`]);
      const newBobContext = await cameraBrowser.newContext(PHONE);
      contexts.push(newBobContext);
      await bobContext.close();
      const newBob = await newBobContext.newPage();
      await registerInBrowser(newBob, server.url, phones.bob);

      // Alice adds Bob to a group: his KeyPackages now come with another identity key.
      await alice.getByRole('button', { name: 'New group' }).click();
      await alice.getByLabel('Group name').fill('Tea party');
      await alice.getByLabel('Members (phone numbers, comma separated)').fill(phones.bob);
      await alice.getByRole('button', { name: 'Create group' }).click();
      await expect(() => alice.getByRole('heading', { name: 'Tea party' }).isVisible(), 'group created');
      await alice.getByRole('button', { name: `Open chat ${phones.bob}` }).click();
      const banner = alice.getByRole('alert').filter({ hasText: 'safety number has changed' });
      await expect(() => banner.isVisible(), 'alice is warned');
      assert.equal(await alice.getByRole('img', { name: 'Safety number verified' }).count(), 0, 'no longer verified');
      await banner.getByRole('button', { name: 'Verify the new safety number' }).click();
      const aliceDialog = alice.getByRole('dialog', { name: 'Verify safety number' });
      const renewed = await safetyDigits(alice);
      assert.notDeepEqual(renewed, firstNumber, 'a new key, a new number');
      await expect(
        () => aliceDialog.getByRole('alert').filter({ hasText: 'safety number has changed' }).isVisible(),
        'warning in the dialog',
      );

      // The new Bob starts a chat with Alice by her number and scans her code with his camera.
      await newBob.getByRole('button', { name: 'New chat' }).click();
      await newBob.getByLabel('Phone number or username').fill(phones.alice);
      await newBob.getByRole('button', { name: 'Start chat' }).click();
      await expect(() => newBob.getByRole('textbox', { name: 'Message' }).isVisible(), 'new bob chat open');
      const bobDialog = await openSafety(newBob);
      assert.deepEqual(await safetyDigits(newBob), renewed, 'the same new number on both sides');
      writeY4m(cameraFile, await aliceDialog.getByRole('img', { name: /^QR code of your safety number/ }).screenshot());
      await bobDialog.getByRole('button', { name: 'Scan their code' }).click();
      await expect(
        () => bobDialog.getByText(/The code matches \(scanned with the camera\)/).isVisible(),
        'camera scan matches',
        30_000,
      );
      assert.equal(
        await bobDialog.getByRole('button', { name: 'Stop scanning' }).count(),
        0,
        'camera released after the scan',
      );

      // Alice verifies the new number in person: the warning goes.
      await aliceDialog.getByRole('button', { name: 'Mark as verified' }).click();
      await expect(
        () => aliceDialog.getByText("You have verified +12025550172's safety number.").isVisible(),
        'alice verified',
      );
      await aliceDialog.getByRole('button', { name: 'Close' }).click();
      await expect(async () => (await banner.count()) === 0, 'warning cleared');
      await alice.screenshot({ path: join(tmpdir(), 'parley-web-privacy-desktop.png') });
      await newBob.screenshot({ path: join(tmpdir(), 'parley-web-privacy-phone.png') });
    },
  );
});
