/**
 * kafkajs treats every socket error as retriable, a refused certificate included: it would retry it for
 * tens of seconds and then report it like an outage. Before a client connects, one TLS handshake per seed
 * broker, followed by an ApiVersions request (a broker that refuses the client certificate says so only
 * once the handshake is over, in TLS 1.3), tells a certificate problem apart at once.
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { TlsSettings } from '../config.ts';

export type BrokerTlsAnswer =
  | { kind: 'accepted' }
  /** The handshake or the first request failed: the Node error (its `code` says why). */
  | { kind: 'failed'; error: Error }
  | { kind: 'timeout' };

/** ApiVersions v0, correlation id 1: answered by every broker before any SASL exchange. */
function apiVersionsRequest(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.alloc(10 + id.length);
  body.writeInt16BE(18, 0); // api key: ApiVersions
  body.writeInt16BE(0, 2); // version
  body.writeInt32BE(1, 4); // correlation id
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(body.length, 0);
  return Buffer.concat([frame, body]);
}

/** One handshake and one request to `broker` (host:port); never throws. */
export function checkBrokerTls(
  broker: string,
  tls: TlsSettings,
  clientId: string,
  timeoutMs: number,
): Promise<BrokerTlsAnswer> {
  const separator = broker.lastIndexOf(':');
  const host = broker.slice(0, separator);
  const port = Number(broker.slice(separator + 1));
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    const finish = (answer: BrokerTlsAnswer) => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    try {
      socket = connect({
        host,
        port,
        // The same options kafkajs is given: the CA file, or Node's default CA store when there is none.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(tls.ca === undefined ? {} : { ca: [tls.ca] }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        rejectUnauthorized: true,
      });
    } catch (error) {
      finish({ kind: 'failed', error: error as Error });
      return;
    }
    socket.once('secureConnect', () => socket?.write(apiVersionsRequest(clientId)));
    socket.once('data', () => finish({ kind: 'accepted' }));
    socket.once('error', (error) => finish({ kind: 'failed', error }));
    socket.once('close', () =>
      finish({
        kind: 'failed',
        error: Object.assign(new Error('closed by the broker'), { code: 'ECONNRESET' }),
      }),
    );
  });
}
