/**
 * Ways into a group's voice or video chat from the chat (C6): "Start voice chat" and "Video chat"
 * in the header, and a "Voice chat started · Join" banner once another member's device announced
 * a call (its first frame key arrived in this conversation).
 */
import { useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { describeError } from '../../errors.ts';
import { VideoIcon, VoiceChatIcon } from '../../media/icons.tsx';
import { groupCalls, inGroupCall, useAnnouncedCalls, useGroupCall } from './controller.ts';

function useJoin(client: ParleyClient, conversationId: string, onError: (message: string) => void) {
  const [busy, setBusy] = useState(false);
  const join = (opts: { callId?: string; video: boolean; muted?: boolean }) => {
    setBusy(true);
    groupCalls
      .join(client, conversationId, opts)
      .catch((e) => onError(describeError(e)))
      .finally(() => setBusy(false));
  };
  return { busy, join };
}

/** Header buttons of a group chat. */
export function GroupCallButtons({
  client,
  conversationId,
  onError,
}: {
  client: ParleyClient;
  conversationId: string;
  onError: (message: string) => void;
}) {
  const inCall = inGroupCall(useGroupCall());
  const { busy, join } = useJoin(client, conversationId, onError);
  return (
    <>
      <button
        type="button"
        disabled={busy || inCall}
        onClick={() => join({ video: false })}
        aria-label="Start voice chat"
        title="Start voice chat"
      >
        <VoiceChatIcon />
      </button>
      <button
        type="button"
        disabled={busy || inCall}
        onClick={() => join({ video: true })}
        aria-label="Video chat"
        title="Video chat"
      >
        <VideoIcon />
      </button>
    </>
  );
}

/** The join banner, shown while another member's call is known and this device is not in it. */
export function GroupCallBanner({
  client,
  conversationId,
  onError,
}: {
  client: ParleyClient;
  conversationId: string;
  onError: (message: string) => void;
}) {
  const announced = useAnnouncedCalls(client)[conversationId];
  const snap = useGroupCall();
  const { busy, join } = useJoin(client, conversationId, onError);
  const inCall = inGroupCall(snap);
  if (!announced || (inCall && snap.callId === announced.callId)) return null;
  return (
    <div className="group-call-banner" role="region" aria-label="Voice chat">
      <span>Voice chat started</span>
      <button type="button" disabled={busy || inCall} onClick={() => join({ callId: announced.callId, video: false })}>
        Join voice chat
      </button>
      <button
        type="button"
        disabled={busy || inCall}
        onClick={() => join({ callId: announced.callId, video: false, muted: true })}
      >
        Join muted
      </button>
    </div>
  );
}
