/** A round avatar (C12): the profile photo when there is one, else initials, else a person outline. */
import { useState } from 'react';
import { initialsOf } from './initials.ts';
import { PersonIcon } from '../media/icons.tsx';

export { initialsOf };

/**
 * `alt` names the photo for screen readers; leave it empty where the surrounding control already
 * says whose chat it is.
 */
export function Avatar({
  name,
  photoUrl,
  alt = '',
  size = 40,
}: {
  name: string;
  photoUrl?: string | undefined;
  alt?: string;
  size?: number;
}) {
  const [broken, setBroken] = useState<string | null>(null);
  const style = { width: size, height: size, fontSize: Math.round(size * 0.38) };
  if (photoUrl && broken !== photoUrl) {
    return (
      <img className="avatar avatar-photo" src={photoUrl} alt={alt} style={style} onError={() => setBroken(photoUrl)} />
    );
  }
  const letters = initialsOf(name);
  return (
    <span className="avatar" aria-hidden="true" style={style}>
      {letters || <PersonIcon />}
    </span>
  );
}
