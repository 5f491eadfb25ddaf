/**
 * The consumer's HTTP endpoints for Prometheus and an orchestrator: `/metrics`, `/healthz` (alive and
 * making progress) and `/readyz` (joined, with partitions). node:http alone: three routes need no framework.
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError } from '../errors.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

export interface HealthServer {
  /** The port bound (the configured one, or the one the system chose for 0). */
  port: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

export async function startHealthServer(
  metrics: ConsumerMetrics,
  host: string,
  port: number,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'GET only' });
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => json(res, 500, { error: String((error as Error)?.message ?? error) }),
      );
    } else if (path === '/healthz') {
      const report = metrics.health();
      json(res, report.healthy ? 200 : 503, report);
    } else if (path === '/readyz') {
      const report = metrics.readiness();
      json(res, report.ready ? 200 : 503, report);
    } else {
      json(res, 404, { error: 'not found: /metrics, /healthz, /readyz' });
    }
  });
  // A scraper's keep-alive connection must not hold the process open at shutdown.
  server.keepAliveTimeout = 5000;
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new ConfigurationError(
      [
        `METRICS_HOST:METRICS_PORT ${host}:${port} cannot be bound: ${(error as NodeJS.ErrnoException).code ?? error}`,
      ],
      { cause: error },
    );
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
