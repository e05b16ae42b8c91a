/** The newest message of each conversation, for the chat list's preview line (C15). */
import { useEffect, useState } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';

/**
 * Conversation id → its newest message (read from the device's history), reloaded for one
 * conversation when a message arrives, is sent or changes status there.
 */
export function useLastMessages(client: ParleyClient, conversationIds: string[]): Record<string, LocalMessage> {
  const [last, setLast] = useState<Record<string, LocalMessage>>({});
  const key = conversationIds.join(',');
  useEffect(() => {
    let alive = true;
    const load = async (id: string) => {
      const list = await client.messages(id).catch(() => [] as LocalMessage[]);
      // Neither a group's system lines nor a blocked member's (collapsed) messages are previewed.
      const newest = list.filter((m) => !m.system && !m.fromBlocked).at(-1);
      if (!alive) return;
      setLast((prev) => {
        if (!newest) {
          if (!(id in prev)) return prev;
          const next = { ...prev };
          delete next[id];
          return next;
        }
        return { ...prev, [id]: newest };
      });
    };
    for (const id of conversationIds) void load(id);
    const onChange = (m: LocalMessage) => void load(m.conversationId);
    const offs = [client.on('message', onChange), client.on('status', onChange)];
    return () => {
      alive = false;
      offs.forEach((off) => off());
    };
  }, [client, key]);
  return last;
}
