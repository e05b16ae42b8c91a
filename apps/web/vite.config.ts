// Vite build of the web client (C15). Workspace packages resolve to their TypeScript sources.
// Every file under dist/assets is named by a hash of its content, so the server may let browsers
// keep them for a year (docs/web.md "Serving"); the vendor code sits in chunks of its own, which
// change far less often than the app's own code.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The chunk a module belongs to: React, the wire schemas (zod), and the end-to-end crypto (MLS,
 * HPKE, noble) each get one; the app's own code stays in the entry and its lazy chunks.
 */
function vendorChunk(id: string): string | undefined {
  const path = id.replaceAll('\\', '/');
  if (/\/node_modules\/(react|react-dom|scheduler)\//.test(path)) return 'react';
  // jitless.ts runs after zod and before the first schema is built, so it shares their chunk.
  if (
    /\/node_modules\/zod\//.test(path) ||
    path.includes('/packages/protocol/') ||
    path.endsWith('/apps/web/src/jitless.ts')
  )
    return 'protocol';
  // Curves and ciphers that MLS loads only for cipher suites Parley does not use stay lazy.
  if (/\/node_modules\/@noble\/(curves\/(ed448|nist)|ciphers\/chacha)/.test(path)) return undefined;
  if (/\/node_modules\/(ts-mls|@hpke|@noble)\//.test(path) || path.includes('/packages/crypto/')) return 'crypto';
  return undefined;
}

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      // The service worker is an entry of its own, at the stable URL /sw.js (C18): a worker's URL
      // is its identity, so it must not carry a content hash; the server sends it with no-cache.
      input: { index: 'index.html', sw: 'src/notifications/service-worker.ts' },
      output: {
        manualChunks: vendorChunk,
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  // The frame worker is started with `type: 'module'`; an ES-module worker may be code-split like
  // the page (the SDK it imports has lazy chunks), which the default IIFE format refuses to build.
  worker: { format: 'es' },
  esbuild: { target: 'es2022' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
});
