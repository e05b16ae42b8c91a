/**
 * `parley business …` end to end (C10) against a real data folder and a real `parley serve`:
 * `create` prints one JSON line whose access token works on the Business API of the running server
 * (and is not in the database's files, nor is the app secret), `list` shows numbers and token
 * metadata only, `token create` issues another token and `token revoke` stops one at once (190).
 * A webhook URL is registered only after the verification handshake (a receiver that does not echo
 * the challenge: exit 1, `webhook_unverified`); `webhooks` prints the delivery log. A business
 * writes to a user only after the user wrote (131047 before), and `promotions stop|resume` says the
 * user's marketing choice inside the chat.
 * Bad input is a usage error: exit 2 and one line.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { parley, registerProfile, type Run } from './helpers/cli.ts';
import { expect } from './helpers/expect.ts';

describe('parley business', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-business-'));
  const dataDir = join(tmp, 'data');
  const env = { PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'warn' };
  const business = (args: string[]): Promise<Run> => parley(['business', ...args], env);
  let server: ServerProcess;
  const read = async (token: string, path: string) => {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Every byte of the server's database files, to look for what must not be stored. */
  const databaseBytes = () =>
    Buffer.concat(
      readdirSync(dataDir)
        .filter((f) => f.startsWith('parley.sqlite'))
        .map((f) => readFileSync(join(dataDir, f))),
    );

  /** A webhook receiver that answers the handshake for one verify token. */
  let hook: Server;
  let hookUrl = '';
  before(async () => {
    hook = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const ok = u.searchParams.get('hub.verify_token') === 'shrub-verify';
      res.writeHead(ok ? 200 : 403).end(ok ? (u.searchParams.get('hub.challenge') ?? '') : 'no');
    });
    await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok));
    const addr = hook.address();
    hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/parley`;
    server = await startServerProcess(env);
  });
  after(async () => {
    await new Promise((ok) => hook?.close(ok));
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'creates a business whose token works on the Business API, lists it, issues and revokes tokens',
    { timeout: 120_000 },
    async () => {
      const created = await business([
        'create',
        '--name',
        'Lucky Shrub',
        '--phone',
        '+14155550199',
        '--webhook',
        hookUrl,
        '--verify-token',
        'shrub-verify',
      ]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.lines.length, 1);
      const c = created.lines[0]! as Record<string, string>;
      assert.match(c.businessId!, /^\d{15}$/);
      assert.match(c.phoneNumberId!, /^\d{15}$/);
      assert.match(c.accessToken!, /^pbiz_[A-Za-z0-9_-]{43}$/);
      assert.match(c.appSecret!, /^[0-9a-f]{32}$/);
      assert.equal(c.webhookUrl, hookUrl);

      const unverified = await business([
        'create',
        '--name',
        'Wrong Token',
        '--phone',
        '+14155550198',
        '--webhook',
        hookUrl,
        '--verify-token',
        'not-it',
      ]);
      assert.equal(unverified.code, 1);
      assert.match(unverified.stderr, /webhook_unverified/);

      const log = await business(['webhooks', '--business', c.businessId!]);
      assert.equal(log.code, 0, log.stderr);

      const number = await read(c.accessToken!, `/v21.0/${c.phoneNumberId}`);
      assert.equal(number.status, 200);
      assert.equal(number.body.verified_name, 'Lucky Shrub');
      assert.equal(number.body.id, c.phoneNumberId);

      const second = await business(['create', '--name', 'Other', '--phone', '+14155550198']);
      assert.equal(second.code, 0, second.stderr);
      const other = second.lines[0]! as Record<string, string>;
      assert.equal((await read(c.accessToken!, `/v21.0/${other.phoneNumberId}`)).body.error !== undefined, true);

      const list = await business(['list']);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.lines.length, 2);
      const mine = list.lines.find((l) => l.businessId === c.businessId)!;
      assert.deepEqual(mine.phoneNumbers, [
        { phoneNumberId: c.phoneNumberId, phone: '+14155550199', verifiedName: 'Lucky Shrub' },
      ]);
      assert.equal((mine.tokens as unknown[]).length, 1);
      assert.ok(!list.stdout.includes(c.accessToken!) && !list.stdout.includes(c.appSecret!), 'list shows no secret');

      const more = await business(['token', 'create', '--business', c.businessId!]);
      assert.equal(more.code, 0, more.stderr);
      const t2 = more.lines[0]! as Record<string, string>;
      assert.equal((await read(t2.accessToken!, `/v21.0/${c.phoneNumberId}`)).status, 200);
      const revoked = await business(['token', 'revoke', '--business', c.businessId!, '--token-id', c.tokenId!]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.deepEqual(revoked.lines, [{ businessId: c.businessId, tokenId: c.tokenId, revoked: true }]);
      const refused = await read(c.accessToken!, `/v21.0/${c.phoneNumberId}`);
      assert.equal(refused.status, 401);
      assert.equal((refused.body.error as { code: number }).code, 190);
      assert.equal(
        (await read(t2.accessToken!, `/v21.0/${c.phoneNumberId}`)).status,
        200,
        'the other token still works',
      );
      const again = await business(['token', 'revoke', '--business', c.businessId!, '--token-id', c.tokenId!]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /token_not_found/);

      const bytes = databaseBytes();
      for (const secret of [c.accessToken!, t2.accessToken!, c.appSecret!])
        assert.ok(!bytes.includes(Buffer.from(secret)), 'no token or app secret in the database files');
      assert.ok(!bytes.includes(Buffer.from(c.appSecret!, 'hex')), 'nor the app secret bytes');

      const dup = await business(['create', '--name', 'Copy', '--phone', '+14155550199']);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /phone_taken/);
    },
  );

  it(
    "runs the business's device in 'parley serve': a location sent through the API is printed by the user's 'receive'",
    { timeout: 120_000 },
    async () => {
      const created = await business(['create', '--name', 'Fern Shop', '--phone', '+14155550188']);
      assert.equal(created.code, 0, created.stderr);
      const c = created.lines[0]! as Record<string, string>;
      const profile = join(tmp, 'user');
      await registerProfile(server.url, profile, '+14155550177');
      const location = () =>
        fetch(`${server.url}/v21.0/${c.phoneNumberId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${c.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            messaging_product: 'whatsapp',
            to: '14155550177',
            type: 'location',
            location: { latitude: 52.52, longitude: 13.405, name: 'Fern Shop' },
          }),
        });
      // The customer-service window is closed until the user writes (131047).
      const closed = await location();
      assert.equal(closed.status, 400);
      assert.equal(((await closed.json()) as { error: { code: number } }).error.code, 131047);
      // The user writes first; the business's device registers within seconds of `create`.
      await expect(
        async () =>
          (await parley(['--profile', profile, 'send', '--to', '+14155550188', '--message', 'Hi'])).code === 0,
        'the user reaches the business',
        60_000,
      );
      // Once the business's device has heard it, the window is open.
      let status = 0;
      await expect(
        async () => {
          status = (await location()).status;
          return status === 200;
        },
        () => `the window opened (last status ${status})`,
        30_000,
      );
      const got = await parley(['--profile', profile, 'receive', '--timeout', '3']);
      assert.equal(got.code, 0, got.stderr);
      const line = got.lines.find((l) => l.business) as { business: unknown; from: string; text: string } | undefined;
      assert.deepEqual(line?.business, { kind: 'location', latitude: 52.52, longitude: 13.405, name: 'Fern Shop' });
      assert.match(line!.text, /Fern Shop/);

      // The user stops the business's promotions from the chat, then allows them again.
      for (const value of ['stop', 'resume']) {
        const r = await parley(['--profile', profile, 'promotions', value, '--to', '+14155550188']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.lines[0]?.promotions, value);
      }
      const bad = await parley(['--profile', profile, 'promotions', 'maybe', '--to', '+14155550188']);
      assert.equal(bad.code, 2);
    },
  );

  it(
    'reviews a template from the command line: listed, approved (the API lists it APPROVED), a forbidden step refused',
    { timeout: 120_000 },
    async () => {
      const created = await business(['create', '--name', 'Review Shop', '--phone', '+14155550166']);
      assert.equal(created.code, 0, created.stderr);
      const c = created.lines[0]! as Record<string, string>;
      const made = await fetch(`${server.url}/v21.0/${c.businessId}/message_templates`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'welcome_back',
          language: 'en',
          category: 'MARKETING',
          components: [{ type: 'BODY', text: 'Welcome back to our shop, we missed you!' }],
        }),
      });
      assert.equal(made.status, 200);
      const id = String(((await made.json()) as { id: string }).id);
      const pending = await business(['templates', 'list', '--business', c.businessId!, '--status', 'PENDING']);
      assert.equal(pending.code, 0, pending.stderr);
      assert.deepEqual(
        pending.lines.map((l) => [l.id, l.name, l.status]),
        [[id, 'welcome_back', 'PENDING']],
      );
      const approved = await business([
        'templates',
        'review',
        '--business',
        c.businessId!,
        '--template-id',
        id,
        '--status',
        'APPROVED',
      ]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(approved.lines[0]!.status, 'APPROVED');
      const listed = await read(c.accessToken!, `/v21.0/${c.businessId}/message_templates`);
      assert.equal((listed.body.data as { status: string }[])[0]!.status, 'APPROVED');
      const again = await business([
        'templates',
        'review',
        '--business',
        c.businessId!,
        '--template-id',
        id,
        '--status',
        'APPROVED',
      ]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /review_not_allowed/);
      assert.equal(again.stderr.trim().split('\n').length, 1);
    },
  );

  it('answers bad input with a one-line usage error (exit 2)', { timeout: 120_000 }, async () => {
    for (const args of [
      ['create', '--phone', '+14155550197'],
      ['create', '--name', 'X', '--phone', '4155550197'],
      ['create', '--name', 'X', '--phone', '+1000'],
      ['create', '--name', 'x'.repeat(101), '--phone', '+14155550197'],
      ['create', '--name', 'X', '--phone', '+14155550197', '--webhook', 'https://a.test/'],
      ['create', '--name', 'X', '--phone', '+14155550197', '--webhook', 'ftp://a.test/', '--verify-token', 'v'],
      ['token', 'create'],
      ['token', 'create', '--business', 'abc'],
      ['token', 'revoke', '--business', '123', '--token-id', 'nope'],
      ['token', 'rotate', '--business', '123'],
      ['webhooks'],
      ['webhooks', '--business', '123', '--limit', '0'],
      ['delete'],
      ['templates', 'list'],
      ['templates', 'list', '--business', '123', '--status', 'MAYBE'],
      ['templates', 'review', '--business', '123', '--template-id', '456'],
      ['templates', 'review', '--business', '123', '--template-id', 'x', '--status', 'APPROVED'],
      ['templates', 'review', '--business', '123', '--template-id', '456', '--status', 'PENDING'],
      ['templates', 'approve', '--business', '123'],
    ]) {
      const r = await business(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const unknown = await business(['token', 'create', '--business', '123456789012345']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /business_not_found/);
  });
});
