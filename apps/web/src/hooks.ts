/** React bindings for the SDK (C15): re-render on client events. */
import { useEffect, useState } from 'react';
import type { LocalConversation, LocalMessage, ParleyClient, SocketState } from '@parley/sdk';
import { useProfiles } from './contacts/profiles.ts';
import { atName, knownUsername } from './contacts/handles.ts';
import { describeError } from './errors.ts';

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

/** Messages of one conversation, reloaded on new messages, status changes and message actions. */
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
      client.on('system-line', (m) => m.conversationId === conversationId && load()),
      client.on('status', (m) => m.conversationId === conversationId && load()),
      // Reactions, edits, deletes (C15) change stored messages; a delete for me removes one.
      client.on('message-changed', (e) => e.message.conversationId === conversationId && load()),
      client.on('message-removed', (e) => e.conversationId === conversationId && load()),
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
    const offMsg = client.on('message', (m) =>
      setTyping((t) => {
        if (!(m.from in t)) return t;
        const next = { ...t };
        delete next[m.from];
        return next;
      }),
    );
    const timer = setInterval(
      () => setTyping((t) => Object.fromEntries(Object.entries(t).filter(([, at]) => Date.now() - at < 6000))),
      1000,
    );
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

/**
 * Display names for accounts: the profile name when its owner lets this account see it (C12),
 * else the phone number when this device knows it, else the username it was found by, else
 * "Contact" and a short id.
 */
export function useNames(client: ParleyClient, accountIds: string[]): Record<string, string> {
  const [known, setKnown] = useState<Record<string, string>>({});
  const profiles = useProfiles(client, accountIds);
  const key = accountIds.join(',');
  useEffect(() => {
    let alive = true;
    const self = client.self.accountId;
    void Promise.all(
      accountIds.map(async (a) => {
        const username = knownUsername(self, a);
        return [a, (await client.phoneOf(a)) ?? (username ? atName(username) : `Contact ${a.slice(2, 8)}`)] as const;
      }),
    ).then((pairs) => {
      if (alive) setKnown(Object.fromEntries(pairs));
    });
    return () => {
      alive = false;
    };
  }, [client, key]);
  const names: Record<string, string> = {};
  for (const a of accountIds) {
    const name = (a !== client.self.accountId ? profiles[a]?.name : undefined) ?? known[a];
    if (name) names[a] = name;
  }
  return names;
}

/**
 * One action at a time: `run(task)` is busy while the task runs and keeps the error it threw, in
 * readable words (`describeError`); it resolves to the task's result, or undefined when it threw.
 */
export function useTask() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async <T>(task: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await task();
    } catch (e) {
      setError(describeError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
