/** The camera picture while a video note or message records (muted: the microphone is not played back). */
import { useEffect, useRef } from 'react';

/** `stream` may be null while the camera is still starting. */
export function VideoPreview({ stream }: { stream: MediaStream | null }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.srcObject = stream;
  }, [stream]);
  return <video ref={ref} className="video-preview" autoPlay muted playsInline aria-label="Camera preview" />;
}
