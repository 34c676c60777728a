// rsocket-js 1.0 browser client, bundled for the benchmark page only.
import { RSocketConnector } from 'rsocket-core';
import { WebsocketClientTransport } from 'rsocket-websocket-client';
import { encodeCompositeMetadata, encodeRoute, WellKnownMimeType } from 'rsocket-composite-metadata';

/** Streams `blob` N SIZE with rsocket-js, prefetch `window` (request(window/2) at half), resolves with the count. */
export async function rsocketJsStream(url: string, n: number, size: number, window: number): Promise<number> {
  const connector = new RSocketConnector({
    setup: { keepAlive: 20000, lifetime: 90000, dataMimeType: 'application/octet-stream', metadataMimeType: 'message/x.rsocket.composite-metadata.v0' },
    transport: new WebsocketClientTransport({ url, wsCreator: (u) => new WebSocket(u) }),
  });
  const rsocket = await connector.connect();
  const metadata = encodeCompositeMetadata([[WellKnownMimeType.MESSAGE_RSOCKET_ROUTING, encodeRoute('blob')]]);
  try {
    return await new Promise<number>((resolve, reject) => {
      let count = 0;
      let sinceRequest = 0;
      const sub = rsocket.requestStream({ data: Buffer.from(`${n} ${size}`), metadata }, window, {
        onNext() {
          count++;
          if (++sinceRequest >= window / 2) { sinceRequest = 0; sub.request(window / 2); }
        },
        onComplete() { resolve(count); },
        onError(e) { reject(e); },
        onExtension() {},
      });
    });
  } finally {
    rsocket.close();
  }
}
