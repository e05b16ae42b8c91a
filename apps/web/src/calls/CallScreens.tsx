/**
 * The call screens (C6–C8): the 1:1 call overlay and the group call screen, each a chunk of its
 * own (with its CSS) that the first screen does not carry. They are mounted only while there is a
 * call to show; the chunks are fetched once the page is idle after loading, so an incoming call's
 * screen does not wait for the network (its ringtone is the controller's and never waits at all).
 */
import { Suspense, lazy, useEffect } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { useCallScreen } from './controller.ts';
import { useGroupCall } from './group/controller.ts';

const loadOverlay = () => import('./CallOverlay.tsx');
const loadGroupScreen = () => import('./group/GroupCallScreen.tsx');
const CallOverlay = lazy(() => loadOverlay().then((m) => ({ default: m.CallOverlay })));
const GroupCallScreen = lazy(() => loadGroupScreen().then((m) => ({ default: m.GroupCallScreen })));

/** How long after mounting the page fetches the call chunks ahead of need. */
const PREFETCH_AFTER_MS = 3000;

/** Whichever call screen is needed now, loaded on demand. */
export function CallScreens({ client }: { client: ParleyClient }) {
  const [screen] = useCallScreen(client);
  const group = useGroupCall();
  useEffect(() => {
    const t = setTimeout(() => {
      void loadOverlay().catch(() => undefined);
      void loadGroupScreen().catch(() => undefined);
    }, PREFETCH_AFTER_MS);
    return () => clearTimeout(t);
  }, []);
  return (
    <Suspense fallback={null}>
      {group && <GroupCallScreen client={client} />}
      {screen && <CallOverlay client={client} />}
    </Suspense>
  );
}
