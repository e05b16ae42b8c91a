/** React bindings for the SDK (C15): re-render on client events. */
import { useEffect, useState } from 'react';
import type { LocalConversation, LocalMessage, ParleyClient, SocketState } from '@parley/sdk';

/** The conversation list, kept current from `conversation` and `message` events. */
export function useConversations(client: ParleyClient): LocalConversation[] {
  const [list, setList] = useState(() => client.conversations());
  useEffect(() => {
    const refresh = () => setList(client.conversations());
    const offs = [client.on('conversation', refresh), client.on('message', refresh), client.on('status', refresh)];
    refresh();
    return () => offs.forEach((off) => off());
  }, [client]);
  return list;
}

/** Messages of one conversation, reloaded on new messages and status changes. */
export function useMessages(client: ParleyClient, conversationId: string | null): LocalMessage[] {
  const [messages, setMessages] = useState<LocalMessage[]>([]);
  useEffect(() => {
    if (!conversationId) {
      setMessages([]);
      return undefined;
    }
    let alive = true;
    const load = () => void client.messages(conversationId).then((m) => alive && setMessages(m));
    const offs = [
      client.on('message', (m) => m.conversationId === conversationId && load()),
      client.on('status', (m) => m.conversationId === conversationId && load()),
    ];
    load();
    return () => {
      alive = false;
      offs.forEach((off) => off());
    };
  }, [client, conversationId]);
  return messages;
}

/** Who is typing in a conversation (entries expire after 6 s without a refresh). */
export function useTyping(client: ParleyClient, conversationId: string | null): string[] {
  const [typing, setTyping] = useState<Record<string, number>>({});
  useEffect(() => {
    setTyping({});
    const off = client.on('typing', (e) => {
      if (e.conversationId !== conversationId) return;
      setTyping((t) => {
        const next = { ...t };
        if (e.typing) next[e.from] = Date.now();
        else delete next[e.from];
        return next;
      });
    });
    const offMsg = client.on('message', (m) => setTyping((t) => {
      if (!(m.from in t)) return t;
      const next = { ...t };
      delete next[m.from];
      return next;
    }));
    const timer = setInterval(() => setTyping((t) => Object.fromEntries(Object.entries(t).filter(([, at]) => Date.now() - at < 6000))), 1000);
    return () => {
      off();
      offMsg();
      clearInterval(timer);
    };
  }, [client, conversationId]);
  return Object.keys(typing);
}

/** The socket state: connecting, ready or closed. */
export function useConnection(client: ParleyClient): SocketState {
  const [state, setState] = useState<SocketState>('connecting');
  useEffect(() => {
    const off = client.on('connection', setState);
    return () => {
      off();
    };
  }, [client]);
  return state;
}

/** Display names for accounts: the phone number when this device knows it, else a short id. */
export function useNames(client: ParleyClient, accountIds: string[]): Record<string, string> {
  const [names, setNames] = useState<Record<string, string>>({});
  const key = accountIds.join(',');
  useEffect(() => {
    let alive = true;
    void Promise.all(accountIds.map(async (a) => [a, (await client.phoneOf(a)) ?? `Contact ${a.slice(2, 8)}`] as const)).then((pairs) => {
      if (alive) setNames(Object.fromEntries(pairs));
    });
    return () => {
      alive = false;
    };
  }, [client, key]);
  return names;
}
