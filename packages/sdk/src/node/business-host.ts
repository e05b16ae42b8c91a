/**
 * Hosted business devices (C10, docs/business.md "Where the keys live"): in the hosted mode the
 * platform runs one ordinary Parley device per business phone number. Each is a `ParleyClient`
 * that registers through the server's normal registration routes (the platform hands it the
 * verification code instead of sending an SMS), keeps its MLS state in a store the platform gives
 * it (sealed with the server's secrets) and talks to the server over HTTP and the WebSocket like any
 * device. So users reach a business like any account, and the platform, not the business, holds
 * its keys: what the business chat says to users.
 *
 * The server cannot import the SDK (docs/architecture.md); the process that builds the server
 * (`parley serve`, the test harness) creates this host and passes it in, and the server calls it
 * through the structural interface it declares (`server/src/business/hosted.ts`).
 */
import type { BusinessMessage, HostedContent, HostedEvent, HostedNumber, LinkPreview } from '@parley/protocol';

export type { HostedContent, HostedEvent, HostedNumber } from '@parley/protocol';
// Only the package's public entry: the host is a user of the client, like any app.
import { ParleyClient, type DeviceStore, type LocalMessage, type WebSocketCtor } from '../index.ts';

/** What the platform gives the host. */
export interface BusinessPlatform {
  /** The server's own base URL (loopback). */
  readonly url: string;
  /** The sealed device store of a number's hosted device. */
  deviceStore(phoneNumberId: string): DeviceStore;
  /** Resolves with the verification code the server issues next for `phone` (no SMS is sent for it). */
  expectCode(phone: string): Promise<string>;
  /** Something the business's webhook should hear (the platform queues it durably). */
  event(event: HostedEvent): Promise<void>;
  /** Failures of a device's deliveries or connection, for the server's log. */
  warn(err: unknown, context: string): void;
}

/** Options of the host. */
export interface BusinessHostOptions {
  /** The WebSocket class (`ws` in Node). */
  WebSocket: WebSocketCtor;
  /** KeyPackages each device keeps on the server (default 50: every new chat takes one). */
  keyPackageTarget?: number;
}

/** One running device and what it has already reported. */
interface Running {
  number: HostedNumber;
  client: ParleyClient;
  /** Reactions reported, by `messageId|from`, so a change reports only what is new. */
  reactions: Map<string, string>;
}

/** Runs the hosted devices of every business number the platform asks for. */
export class BusinessDeviceHost {
  private platform: BusinessPlatform | null = null;
  private readonly running = new Map<string, Promise<Running>>();
  private closed = false;

  constructor(private readonly opts: BusinessHostOptions) {}

  /** Called by the server once it listens: from now on devices may register and connect. */
  async start(platform: BusinessPlatform): Promise<void> {
    this.platform = platform;
  }

  /** The device of a number, registered (first time) and connected. */
  ensure(number: HostedNumber): Promise<Running> {
    if (this.closed) return Promise.reject(new Error('the business host is closed'));
    let r = this.running.get(number.phoneNumberId);
    if (!r) {
      r = this.open(number);
      this.running.set(number.phoneNumberId, r);
      // A failed start is retried by the next call.
      r.catch(() => this.running.delete(number.phoneNumberId));
    }
    return r;
  }

  /** True when the number's device is registered and connected here. */
  isRunning(phoneNumberId: string): boolean {
    return this.running.has(phoneNumberId);
  }

  private async open(number: HostedNumber): Promise<Running> {
    const platform = this.platform;
    if (!platform) throw new Error('the business host has not been started');
    const client = await ParleyClient.open({
      store: platform.deviceStore(number.phoneNumberId),
      WebSocket: this.opts.WebSocket,
      keyPackageTarget: this.opts.keyPackageTarget ?? 50,
    });
    if (!client.registered) {
      const code = platform.expectCode(number.phone);
      await client.requestCode(platform.url, number.phone);
      await client.verify(await code, { deviceName: `business ${number.verifiedName}`.slice(0, 64) });
    }
    const running: Running = { number, client, reactions: new Map() };
    this.listen(running, platform);
    await client.connect();
    return running;
  }

  private listen(r: Running, platform: BusinessPlatform): void {
    const { client } = r;
    const id = r.number.phoneNumberId;
    const report = (e: HostedEvent) =>
      platform.event(e).catch((err: unknown) => platform.warn(err, `queue webhook event ${e.type}`));
    client.on('message', (m: LocalMessage) => {
      if (m.outgoing || m.callLog) return;
      void report({
        type: 'message',
        phoneNumberId: id,
        conversationId: m.conversationId,
        from: m.from,
        messageId: m.id,
        at: m.serverTime ?? m.sentAt,
        text: m.text,
        ...(m.business ? { business: m.business } : {}),
        ...(m.replyTo ? { replyTo: m.replyTo.messageId } : {}),
        ...(m.attachment
          ? {
              attachment: {
                kind: m.attachment.kind,
                mime: m.attachment.mimeType,
                size: m.attachment.size,
                ...(m.text ? { caption: m.text } : {}),
              },
            }
          : {}),
      });
    });
    client.on('message-changed', ({ message, change }) => {
      if (change !== 'reaction') return;
      const self = client.self?.accountId;
      const now = new Map((message.reactions ?? []).filter((x) => x.from !== self).map((x) => [x.from, x]));
      // Added or changed reactions, then taken-back ones (reported with an empty emoji).
      for (const [from, x] of now) {
        const key = `${message.id}|${from}`;
        if (r.reactions.get(key) === x.emoji) continue;
        r.reactions.set(key, x.emoji);
        void report({
          type: 'reaction',
          phoneNumberId: id,
          conversationId: message.conversationId,
          from,
          messageId: message.id,
          emoji: x.emoji,
          at: x.at,
        });
      }
      for (const key of [...r.reactions.keys()].filter((k) => k.startsWith(`${message.id}|`))) {
        const from = key.slice(message.id.length + 1);
        if (now.has(from)) continue;
        r.reactions.delete(key);
        void report({
          type: 'reaction',
          phoneNumberId: id,
          conversationId: message.conversationId,
          from,
          messageId: message.id,
          emoji: '',
          at: Date.now(),
        });
      }
    });
    client.on('receipt', ({ conversationId, from, receipt, messageIds }) => {
      if (receipt === 'played') return;
      for (const messageId of messageIds)
        void report({
          type: 'status',
          phoneNumberId: id,
          conversationId,
          recipient: from,
          messageId,
          status: receipt,
          at: Date.now(),
        });
    });
    client.on('error', ({ error, context }) => platform.warn(error, `business device ${id}: ${context}`));
  }

  /**
   * Send from a number's device to a user's account, in their direct chat (started if needed).
   * `replyTo` is a message of that chat. Resolves once the server stored the message.
   */
  async send(
    number: HostedNumber,
    to: string,
    content: HostedContent,
    replyTo?: string,
  ): Promise<{ conversationId: string; messageId: string; at: number }> {
    const r = await this.ensure(number);
    const conversationId = await r.client.startDirect(to);
    let m: LocalMessage;
    if (content.kind === 'text')
      m = replyTo
        ? await r.client.reply(conversationId, replyTo, content.body)
        : await r.client.sendText(conversationId, content.body, content.preview ? { preview: content.preview } : {});
    else if (content.kind === 'reaction') {
      m = await r.client.react(conversationId, content.messageId, content.emoji);
      // A reaction is no message of its own: its status is reported against the reacted-to message.
      return { conversationId, messageId: m.id, at: Date.now() };
    } else if (content.kind === 'media')
      m = await r.client.sendMedia(conversationId, {
        bytes: content.bytes,
        mimeType: content.mimeType,
        kind: content.mediaKind,
        ...(content.fileName ? { fileName: content.fileName } : {}),
        ...(content.caption ? { caption: content.caption } : {}),
      });
    else m = await r.client.sendBusiness(conversationId, content.message, replyTo ? { replyTo } : {});
    void this.platform
      ?.event({
        type: 'status',
        phoneNumberId: number.phoneNumberId,
        conversationId,
        recipient: to,
        messageId: m.id,
        status: 'sent',
        at: m.serverTime ?? Date.now(),
      })
      .catch((err: unknown) => this.platform?.warn(err, 'queue sent status'));
    return { conversationId, messageId: m.id, at: m.serverTime ?? Date.now() };
  }

  /** Whether the number's device holds this message in this chat (and whether it is the device's own). */
  async message(
    number: HostedNumber,
    conversationId: string,
    messageId: string,
  ): Promise<{ from: string; outgoing: boolean } | null> {
    const r = await this.ensure(number);
    const m = await r.client.history.message(conversationId, messageId);
    return m ? { from: m.from, outgoing: m.outgoing } : null;
  }

  /** Mark a user's message read: the user sees the business read it (a read receipt). */
  async markRead(number: HostedNumber, conversationId: string, messageId: string): Promise<void> {
    const r = await this.ensure(number);
    await r.client.markRead(conversationId, [messageId]);
  }

  /** Close every device's connection. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.allSettled(all.map(async (p) => (await p).client.close()));
  }
}
