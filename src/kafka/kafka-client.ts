import net from 'node:net';
import tls from 'node:tls';
import { type ISocketFactory, type Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import { type KafkaSettings, loadLogSettings } from '../config.ts';
import { kafkaLogCreator, kafkaLogLevel } from '../log/kafka-log.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { CheckedKafka } from './checked-kafka.ts';

/** Every socket a client opened and has not yet closed, so that a shutdown past its deadline can close them. */
const openSockets = new WeakMap<Kafka, Set<net.Socket>>();

/**
 * kafkajs' own socket factory (src/network/socketFactory.js), plus bookkeeping. A disconnect that hangs
 * (a broker restarted under a connection, a request that will never be answered) otherwise leaves a socket
 * that keeps the process alive forever.
 */
function trackingSocketFactory(sockets: Set<net.Socket>): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tls.connect(Object.assign({ host, port }, net.isIP(host) ? {} : { servername: host }, ssl), onConnect)
      : net.connect({ host, port }, onConnect);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}

/** Closes every socket of the client at once: the last step of a shutdown that ran out of time. */
export function destroyKafkaSockets(kafka: Kafka): number {
  const sockets = openSockets.get(kafka);
  if (sockets === undefined) return 0;
  const count = sockets.size;
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  return count;
}

/**
 * The one place a kafkajs client is built from settings: TLS verified against the configured CA or the
 * system's CA store (never `rejectUnauthorized: false`), SASL only over TLS (enforced by the configuration);
 * a refused certificate or refused credentials fail the connect at once (CheckedKafka).
 */
export function createKafka(
  settings: KafkaSettings,
  options: {
    clientId?: string;
    quiet?: boolean;
    /** Where kafkajs' log goes (graded by kafka-log.ts). Default: a logger from LOG_LEVEL and LOG_FORMAT. */
    logger?: Logger;
    /** While this returns true, kafkajs' lines are dropped (a command that reports start-up itself). */
    muted?: () => boolean;
    /**
     * kafkajs' retries of a broker call (connect, metadata, produce) before the error surfaces: 8 (~36 s of
     * backoff) by default; the consumer takes 5 (~8 s), since kafkajs restarts a crashed consumer anyway.
     */
    retries?: number;
  } = {},
): Kafka {
  const sockets = new Set<net.Socket>();
  const logger = options.quiet ? undefined : (options.logger ?? createLogger(loadLogSettings()));
  const config: KafkaConfig = {
    clientId: options.clientId ?? settings.clientId,
    brokers: settings.brokers,
    logLevel: logger === undefined ? logLevel.NOTHING : kafkaLogLevel(logger),
    ...(logger === undefined ? {} : { logCreator: kafkaLogCreator(logger, options.muted) }),
    connectionTimeout: 3000,
    // kafkajs retries transient broker faults itself; this bounds how long before an error surfaces.
    retry: { initialRetryTime: 300, retries: options.retries ?? 8, maxRetryTime: 10_000 },
    socketFactory: trackingSocketFactory(sockets),
  };
  if (settings.tls) {
    config.ssl = {
      ...(settings.tls.ca === undefined ? {} : { ca: [settings.tls.ca] }),
      ...(settings.tls.cert ? { cert: settings.tls.cert } : {}),
      ...(settings.tls.key ? { key: settings.tls.key } : {}),
      rejectUnauthorized: true,
    };
  }
  if (settings.sasl) {
    config.sasl = {
      mechanism: settings.sasl.mechanism,
      username: settings.sasl.username,
      password: settings.sasl.password,
    } as SASLOptions;
  }
  const kafka = new CheckedKafka(config, settings);
  openSockets.set(kafka, sockets);
  return kafka;
}
