/**
 * Security headers of the web client (C15, C19): what the server adds to every file of the built
 * client it serves (index.html, /assets/*, the favicon and the manifest), never to the API's JSON
 * answers. docs/web.md ("Serving") says why each directive is there.
 */
/**
 * The Content-Security-Policy of the web client. No inline script and no eval ('unsafe-*' appear
 * nowhere); 'self' also covers WebSockets to the same host and port (CSP Level 3), which is the
 * only socket the client opens. blob: is where decrypted media, recordings and previews live (the
 * page also reads them back with fetch), data: is for small inline images; the group-call frame
 * worker is a same-origin file. Nobody may frame the client (clickjacking). connect-src also
 * names http: and https: for one reason: a link preview is made by the sender's own page, which
 * fetches the linked page (docs/web.md, "Link previews"); most sites refuse that read (CORS) and the
 * preview is then left out. It allows no script, frame or plug-in from anywhere but the origin.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self' blob: https: http:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every web-client file carries. */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': WEB_CSP,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/**
 * `@fastify/static`'s `setHeaders` for the web client: the security headers, and a cache policy
 * that follows the build. Files under `assets/` are named by a hash of their content, so a browser
 * may keep them for a year; everything else (index.html, favicon, manifest) is checked on each use,
 * so a new release is picked up at the next load.
 */
export function setWebHeaders(res: { setHeader(name: string, value: string): unknown }, path: string): void {
  for (const [name, value] of Object.entries(WEB_SECURITY_HEADERS)) res.setHeader(name, value);
  const hashed = /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$/.test(path);
  res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
}
