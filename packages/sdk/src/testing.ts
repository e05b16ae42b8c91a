/**
 * `@parley/sdk/testing`: helpers for tests, bots and benchmarks that drive real SDK clients against
 * a development server, one whose verification codes go to its dev outbox (`GET /dev/outbox`,
 * `PARLEY_SMS_SENDER=dev-outbox`, the default; a production server has no such route).
 *
 * Runtime-neutral like the rest of the SDK (it only needs `fetch`), so Node tests and browser
 * harnesses can use it; in Node pass a WebSocket class (`ws`), and for calls werift's
 * `RTCPeerConnection` (`calls: { RTCPeerConnection, peerConnectionConfig: {
 * iceAdditionalHostAddresses: ['127.0.0.1'] } }` on a loopback-only host, docs/calls.md).
 *
 * ```ts
 * const alice = await registerTestClient(server.url, { WebSocket });
 * const bob = await registerTestClient(server.url, { WebSocket });
 * const conv = await alice.startDirect(bob.self.accountId);
 * await until(() => bob.conversations().some((c) => c.id === conv), 10_000, 'bob has the chat');
 * ```
 */
import type { CallLogContent, Content } from '@parley/protocol';
import { ParleyClient, servicesOf, type ClientOptions } from './client.ts';
import type { LocalConversation, LocalMessage } from './history.ts';
import type { SendAnswer } from './client/outbox.ts';
import { MemoryStore } from './store/memory.ts';
import type { DeviceStore } from './store/types.ts';
import type { FetchLike } from './transport/http.ts';

let phoneCounter = 0;
/** Per process, so two processes testing against one server rarely pick the same numbers. */
const phoneBase = 6_000_000 + Math.floor(Math.random() * 900_000);

/**
 * A fresh, valid E.164 test number (`+1 202 6xx xxxx`), different on every call in this process.
 * The harness of the server's own tests numbers from `+1 202 555 0100`, so the two never meet.
 */
export function testPhone(): string {
  return `+1202${String(phoneBase + phoneCounter++).padStart(7, '0')}`;
}

/**
 * The latest verification code a development server's outbox holds for `phone`. `token` is the
 * operator token the server printed at start (or its PARLEY_DEV_OUTBOX_TOKEN); without it only a
 * server on this machine with PARLEY_HOST unset answers.
 */
export async function devOutboxCode(
  serverUrl: string,
  phone: string,
  fetchFn: FetchLike = globalThis.fetch,
  token?: string,
): Promise<string> {
  const res = await fetchFn(
    `${serverUrl}/dev/outbox?to=${encodeURIComponent(phone)}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
  );
  if (res.status === 403)
    throw new Error(
      `the dev outbox at ${serverUrl} refused the request: pass the operator token the server printed at start`,
    );
  if (!res.ok)
    throw new Error(
      `no dev outbox at ${serverUrl} (HTTP ${res.status}): the server must run with PARLEY_SMS_SENDER=dev-outbox`,
    );
  const body = (await res.json()) as { messages?: { code: string }[] };
  const code = body.messages?.at(-1)?.code;
  if (!code) throw new Error(`no verification code for ${phone} in the dev outbox`);
  return code;
}

/** Options of {@link registerTestClient}: the client's own options, all optional, plus registration. */
export interface TestClientOptions extends Partial<Omit<ClientOptions, 'store'>> {
  /** Device store (default a fresh `MemoryStore`: nothing outlives the process). */
  store?: DeviceStore;
  /** Phone number to register (default {@link testPhone}). */
  phone?: string;
  /** Device name sent at registration (default `test`). */
  deviceName?: string;
  /** Open the WebSocket after registering (default true). */
  connect?: boolean;
  /** Operator token of the server's dev outbox (needed unless the server runs on this machine with PARLEY_HOST unset). */
  outboxToken?: string;
}

/**
 * A registered client: opens a `ParleyClient` (memory store unless given one; 12 KeyPackages
 * unless `keyPackageTarget` says otherwise, so registration stays quick), asks for a code, reads it
 * from the server's dev outbox, verifies, and connects unless `connect: false`. The number it
 * registered is on the result as `phone`.
 */
export async function registerTestClient(
  serverUrl: string,
  opts: TestClientOptions = {},
): Promise<ParleyClient & { phone: string }> {
  const {
    phone = testPhone(),
    deviceName = 'test',
    connect = true,
    store = new MemoryStore(),
    outboxToken,
    ...clientOptions
  } = opts;
  const client = await ParleyClient.open({ keyPackageTarget: 12, ...clientOptions, store });
  await client.requestCode(serverUrl, phone);
  await client.verify(await devOutboxCode(serverUrl, phone, clientOptions.fetch, outboxToken), { deviceName });
  if (connect) await client.connect();
  return Object.assign(client, { phone });
}

/**
 * The bearer token the server issued to `client`'s device at registration, for tests and benchmarks
 * that call the HTTP API or open a socket by hand. Throws when the client is not registered.
 */
export function deviceToken(client: ParleyClient): string {
  const record = servicesOf(client).session.record;
  if (!record) throw new Error('deviceToken: this client has not registered yet');
  return record.token;
}

/**
 * Polls `check` every 25 ms until it returns something truthy, and resolves with it; rejects with
 * "timed out waiting for <what>" after `ms` (default 10 s).
 */
export async function until<T>(check: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Send one content into a conversation exactly as given, skipping the checks the client makes
 * before sending (who sent the message, the windows, that it exists): what a modified client could
 * send. Tests use it to show that receivers refuse such content on their own.
 */
export function sendRawContent(client: ParleyClient, conversationId: string, content: Content): Promise<SendAnswer> {
  return servicesOf(client).outbox.send(conversationId, content);
}

/**
 * Save a conversation record exactly as given, as code holding an older copy would: tests show a
 * stale copy cannot undo newer state.
 */
export function saveConversationRecord(client: ParleyClient, conv: LocalConversation): Promise<void> {
  return servicesOf(client).chats.save(conv);
}

/** Record and send a call-log entry as the call layer does when a call ends, without placing a call. */
export function sendCallLogEntry(
  client: ParleyClient,
  conversationId: string,
  entry: CallLogContent,
): Promise<LocalMessage> {
  return servicesOf(client).sending.sendCallLog(conversationId, entry);
}

/** Checks a link reply's history reference (C16): tests feed it malformed ones. */
export { parseHistoryRef } from './client/link-history.ts';
