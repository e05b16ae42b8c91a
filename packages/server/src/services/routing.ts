/**
 * Conversation routing cache (C3): who is in a conversation, kept in memory so a send costs no
 * routing query. Only when this process is the only writer (no Redis configured, on SQLite or on
 * PostgreSQL): with several processes another node's commit could change membership unseen, so
 * every lookup goes to the database there. Every action that changes routing invalidates the entry
 * it changed.
 */
import type { ConversationDeviceRow, ConversationRow, Storage } from '../storage/types.ts';

/** A conversation and its routed devices. */
export interface Routing {
  conv: ConversationRow;
  devices: ConversationDeviceRow[];
}

const MAX_ENTRIES = 50_000;

/** Cached routing lookups; a no-op cache when `enabled` is false. */
export class RoutingCache {
  private readonly entries = new Map<string, Routing>();

  constructor(
    private readonly storage: Storage,
    private readonly enabled: boolean,
  ) {}

  /** The conversation and its devices, or null when it does not exist. */
  async get(conversationId: string): Promise<Routing | null> {
    const hit = this.enabled ? this.entries.get(conversationId) : undefined;
    if (hit) return hit;
    const conv = await this.storage.conversations.getConversation(conversationId);
    if (!conv) return null;
    const routing = { conv, devices: await this.storage.conversations.listConversationDevices(conversationId) };
    if (this.enabled) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(conversationId, routing);
    }
    return routing;
  }

  /** The cached entry, if there is one (no lookup): lets the send path skip an await. */
  peek(conversationId: string): Routing | undefined {
    return this.enabled ? this.entries.get(conversationId) : undefined;
  }

  /** Forget one conversation (after a commit, a leave, a role change). */
  invalidate(conversationId: string): void {
    this.entries.delete(conversationId);
  }

  /** Forget everything (after a re-registration revoked devices in unknown conversations). */
  clear(): void {
    this.entries.clear();
  }
}
