/** @parley/sdk/node: Node-only additions (file store, `ws` WebSocket). */
export { FileStore } from './node/file-store.ts';
export {
  BusinessDeviceHost,
  type BusinessPlatform,
  type BusinessHostOptions,
  type HostedContent,
  type HostedEvent,
  type HostedNumber,
} from './node/business-host.ts';
