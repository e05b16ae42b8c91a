/**
 * Block lists on the send path (C15). A direct chat's send asks whether the other member blocked
 * the sender; the answer comes from a per-account copy of block lists kept in memory when this
 * process is the only writer (no Redis configured, like the routing cache), so a direct send costs
 * no query once its recipient's list is loaded. With several processes every check reads the
 * database: another node may have changed the list unseen. Every block and unblock goes through
 * `changed`, which drops the owner's copy.
 */
import type { Storage } from '../storage/types.ts';

/** Accounts whose block lists are held in memory before the oldest is dropped. */
const MAX_LISTS = 50_000;

export class BlockLists {
  private readonly lists = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly storage: Storage,
    private readonly enabled: boolean,
  ) {}

  /**
   * The cached answer to "has `owner` blocked `sender`", or undefined when the owner's list is not
   * in memory (then call `hasBlocked`): lets the send path skip an await.
   */
  peek(owner: string, sender: string): boolean | undefined {
    return this.enabled ? this.lists.get(owner)?.has(sender) : undefined;
  }

  /** True when `owner` has blocked `sender`. */
  async hasBlocked(owner: string, sender: string): Promise<boolean> {
    const hit = this.peek(owner, sender);
    if (hit !== undefined) return hit;
    if (!this.enabled) return (await this.storage.safety.blockersOf(sender, [owner])).length > 0;
    const list = new Set((await this.storage.safety.listBlocked(owner)).map((b) => b.blockedAccountId));
    if (this.lists.size >= MAX_LISTS) this.lists.delete(this.lists.keys().next().value!);
    this.lists.set(owner, list);
    return list.has(sender);
  }

  /** The accounts among `owners` that have blocked `sender`. */
  async blockersOf(sender: string, owners: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const o of owners) if (await this.hasBlocked(o, sender)) out.push(o);
    return out;
  }

  /** `owner`'s list changed: forget the copy. */
  changed(owner: string): void {
    this.lists.delete(owner);
  }
}
