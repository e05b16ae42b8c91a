/**
 * What the call layer (C6–C8) gets from the client: who this device is, the conversations it
 * knows, the outbox, the history for call-log entries, and the inbox's progress. One small
 * object over the services, so `CallManager` never holds the client itself.
 */
import type { CallLogContent, Content } from '@parley/protocol';
import type { CallHost, DeviceRef } from '../calls/index.ts';
import type { History } from '../history.ts';
import type { Connection } from './connection.ts';
import type { ContentSender } from './outbox.ts';
import type { Sending } from './sending.ts';
import type { DeviceSession } from './session.ts';
import type { ClientEventSink } from './types.ts';

/** `CallHost` over the client's services. */
export class CallLink implements CallHost {
  constructor(
    private readonly session: DeviceSession,
    private readonly history: History,
    private readonly sender: ContentSender,
    private readonly sending: Sending,
    private readonly connection: Connection,
    private readonly events: ClientEventSink,
  ) {}

  self(): DeviceRef {
    const d = this.session.device();
    return { accountId: d.accountId, deviceId: d.deviceId };
  }

  conversation(conversationId: string) {
    return this.history.conversation(conversationId);
  }

  send(conversationId: string, content: Content, opts: { ephemeral?: boolean }): Promise<unknown> {
    return this.sender.send(conversationId, content, opts);
  }

  sendCallLog(conversationId: string, content: CallLogContent): Promise<{ id: string }> {
    return this.sending.sendCallLog(conversationId, content);
  }

  idle(): Promise<void> {
    // The whole backlog queued at connect, not just what arrived so far: a cancel may be behind the offer.
    return this.connection.drain(5_000);
  }

  error(error: unknown, context: string): void {
    this.events.emit('error', { error, context });
  }
}
