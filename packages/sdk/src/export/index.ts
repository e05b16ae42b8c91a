/** Chat export (C16): a zip of chats made on the device; see `build.ts` and `schema.ts`. */
export {
  exportChats,
  exportChatsToBytes,
  safeName as exportFileName,
  type ExportOptions,
  type ExportProgress,
  type ExportSource,
} from './build.ts';
export { escapeHtml } from './html.ts';
export * from './schema.ts';
