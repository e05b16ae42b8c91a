/** A round avatar (C12): the profile photo when there is one, else initials or the number's last digits. */
import { useState } from 'react';

/** Two characters standing for a name: initials of a name, last digits of a number. */
export function initialsOf(name: string): string {
  const t = name.trim();
  if (/^[+\d]/.test(t) || /^Contact /.test(t)) return t.replace(/[^A-Za-z0-9]/g, '').slice(-2) || '#';
  const words = t
    .replace(/^@/, '')
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters =
    words.length > 1 ? [...words[0]!][0]! + [...words[1]!][0]! : [...(words[0] ?? '#')].slice(0, 2).join('');
  return letters.toUpperCase();
}

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
  return (
    <span className="avatar" aria-hidden="true" style={style}>
      {initialsOf(name)}
    </span>
  );
}
