// @sluicehq/client: RSocket 1.0 over WebSocket for browsers and Node. Named exports only.

export { connect } from './client.js';
export type {
  Client, ClientStats, ConnectOptions, Handlers, RequestContext, RequestOptions, StreamOptions,
} from './client.js';
export { Stream } from './stream.js';
export type { Payload, PayloadInit, StreamStats } from './stream.js';
export { ErrorCode, RSocketError, errorCodeName } from './errors.js';
export {
  MIME_AUTH, MIME_COMPOSITE, MIME_ROUTING, decodeAuth, decodeComposite, decodeRoutes, encodeAuth, encodeComposite,
  encodeRoutes, decodeMimeTypes, encodeMimeTypes, wellKnownId, wellKnownMime,
} from './metadata.js';
export type { Auth, MetadataEntry } from './metadata.js';
export { Flags, FrameError, FrameType, MAX_N, decodeFrame, encodeFrame, fragment } from './frames.js';
export type { Frame } from './frames.js';
export type { Transport, TransportFactory, TransportSink } from './transport.js';
