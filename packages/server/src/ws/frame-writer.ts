/**
 * Server-side writer for binary frames (`u32 header length | header JSON | payload`, see
 * `@parley/protocol` frames). Same bytes as the protocol's `encodeFrame`, built in one pooled
 * Buffer with the header written in place: every delivery pushed to a device goes through here, so
 * one allocation and one copy less per frame is worth a Node-only twin.
 */
export function encodeBinaryFrame(header: unknown, payload: Uint8Array): Buffer {
  const json = JSON.stringify(header);
  const headerLength = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(4 + headerLength + payload.length);
  out.writeUInt32BE(headerLength, 0);
  out.write(json, 4, 'utf8');
  out.set(payload, 4 + headerLength);
  return out;
}
