/**
 * One chat (C3, C15): bubbles with delivered/read ticks, typing indicator, a composer that sends on
 * Enter and reports typing, read receipts while the chat is visible, group rename and leave.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { useConversations, useMessages, useNames, useTyping } from './hooks.ts';
import { titleOf } from './ChatList.tsx';
import { describeError } from './errors.ts';

function Ticks({ m }: { m: LocalMessage }) {
  const label = m.status === 'read' ? 'Read' : m.status === 'delivered' ? 'Delivered' : m.status === 'sending' ? 'Sending' : m.status === 'failed' ? 'Not sent' : 'Sent';
  const marks = m.status === 'read' || m.status === 'delivered' ? '✓✓' : m.status === 'sending' ? '…' : m.status === 'failed' ? '!' : '✓';
  return <span className={`ticks ticks-${m.status}`} role="img" aria-label={label} title={label}>{marks}</span>;
}

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** The open conversation. */
export function ChatView({ client, conversationId, onBack }: { client: ParleyClient; conversationId: string; onBack: () => void }) {
  const conv = useConversations(client).find((c) => c.id === conversationId);
  const messages = useMessages(client, conversationId);
  const typing = useTyping(client, conversationId);
  const names = useNames(client, [...(conv?.members ?? []), ...typing]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const typingSent = useRef(0);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const me = client.self.accountId;

  // Read receipts for what is on screen while the page is visible.
  useEffect(() => {
    const unread = messages.filter((m) => !m.outgoing).map((m) => m.id);
    const seen = new Set<string>(JSON.parse(sessionStorage.getItem(`read:${conversationId}`) ?? '[]') as string[]);
    const fresh = unread.filter((id) => !seen.has(id));
    if (!fresh.length || document.visibilityState !== 'visible') return;
    fresh.forEach((id) => seen.add(id));
    sessionStorage.setItem(`read:${conversationId}`, JSON.stringify([...seen].slice(-500)));
    void client.markRead(conversationId, fresh).catch(() => undefined);
  }, [client, conversationId, messages]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [messages.length]);

  const noteTyping = () => {
    const now = Date.now();
    if (now - typingSent.current > 2500) {
      typingSent.current = now;
      void client.setTyping(conversationId, true).catch(() => undefined);
    }
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = setTimeout(() => {
      typingSent.current = 0;
      void client.setTyping(conversationId, false).catch(() => undefined);
    }, 3000);
  };

  const send = async () => {
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    if (stopTimer.current) clearTimeout(stopTimer.current);
    typingSent.current = 0;
    try {
      await client.sendText(conversationId, text);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void send();
    }
  };

  if (!conv) return <div className="empty">Loading…</div>;
  const title = titleOf(conv, names);
  const isGroup = conv.kind === 'group';

  return (
    <section className="chat" aria-label={`Chat with ${title}`}>
      <header className="chat-head">
        <button type="button" className="back" onClick={onBack} aria-label="Back">‹</button>
        <div className="chat-head-title">
          <h2>{title}</h2>
          {isGroup && <span className="sub">{conv.members.length} members</span>}
        </div>
        {isGroup && (
          <div className="chat-head-actions">
            <button type="button" onClick={() => {
              const name = prompt('New group name', conv.name ?? '');
              if (name?.trim()) void client.rename(conversationId, name.trim()).catch((e) => setError(describeError(e)));
            }}>Rename group</button>
            <button type="button" onClick={() => {
              if (confirm('Leave this group?')) void client.leave(conversationId).then(onBack).catch((e) => setError(describeError(e)));
            }}>Leave group</button>
          </div>
        )}
      </header>
      <ol className="messages" aria-label="Message history" aria-live="polite">
        {messages.map((m) => (
          <li key={m.id} className={`bubble ${m.outgoing ? 'out' : 'in'}`}>
            {isGroup && !m.outgoing && <span className="sender">{names[m.from] ?? 'Member'}</span>}
            <span className="text">{m.text}</span>
            <span className="meta">
              {time(m.serverTime ?? m.sentAt)}
              {m.outgoing && m.from === me && <Ticks m={m} />}
            </span>
          </li>
        ))}
      </ol>
      <div ref={bottom} />
      <p className="typing" aria-live="polite">{typing.length ? `${typing.map((t) => names[t] ?? 'Someone').join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : '\u00a0'}</p>
      {error && <p className="error" role="alert">{error}</p>}
      <form className="composer" onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}>
        <label htmlFor="composer" className="visually-hidden">Message</label>
        <textarea id="composer" aria-label="Message" rows={1} placeholder="Message" value={draft} onChange={(e) => {
          setDraft(e.target.value);
          noteTyping();
        }} onKeyDown={onKey} />
        <button type="submit" aria-label="Send" disabled={!draft.trim()}>➤</button>
      </form>
    </section>
  );
}
