/** @parley/sdk/node: Node-only additions (file store, `ws` WebSocket). */
export { FileStore } from './node/file-store.ts';
