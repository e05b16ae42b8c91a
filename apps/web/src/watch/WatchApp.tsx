/**
 * The watch layout (C15): one screen at a time on a screen of about 200 × 240 px, round or
 * rectangular. The chat list with unread counts, a chat with its last messages in large type,
 * quick replies, a voice reply recorded here, one-tap voice notes, reactions, and the call screen
 * (accept or decline an incoming call; after an unanswered call, "Leave a voice message"). It uses
 * the same SDK client, device store and call controller as the phone and desktop layouts, so the
 * watch is a view of the same device, and loads as a chunk of its own.
 */
import { useEffect, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import type { ConnectionView } from '../connection.ts';
import { CallOverlay } from '../calls/CallOverlay.tsx';
import { AmbientCues } from '../chatlist/cues.tsx';
import { WatchChatList } from './WatchChatList.tsx';
import { WatchChat } from './WatchChat.tsx';
import { isRoundScreen } from './layout.ts';
import './watch.css';

/** The watch layout of a registered device; `error` is the app's connection error, if any. */
export default function WatchApp({
  client,
  connection,
  error,
}: {
  client: ParleyClient;
  connection: ConnectionView;
  error: string | null;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const [round] = useState(isRoundScreen);
  // The call screen and menus live outside `.watch`: the body's classes reach them too.
  useEffect(() => {
    document.body.classList.add('watch-body');
    document.body.classList.toggle('watch-round', round);
    return () => document.body.classList.remove('watch-body', 'watch-round');
  }, [round]);
  return (
    <div className={`watch ${round ? 'round' : 'rect'}`}>
      {open ? (
        <WatchChat key={open} client={client} conversationId={open} onBack={() => setOpen(null)} />
      ) : (
        <WatchChatList client={client} connection={connection} error={error} onOpen={setOpen} />
      )}
      <CallOverlay client={client} />
      <AmbientCues client={client} open={open} />
    </div>
  );
}
