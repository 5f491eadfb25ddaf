import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real service, to take the service away from the code under test and
 * give it back: `cut()` drops every connection and refuses new ones, `freeze()` drops every connection and
 * holds new ones open without an answer (a server that hangs: a client's connect timeout is what ends the
 * wait), `restore()` lets them through again.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far: how many times a client tried. */
  connections(): number;
  cut(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

/** `listenHost`: another loopback address (127.0.0.2) reaches the same service under a name it does not carry. */
export async function startTcpProxy(
  targetHost: string,
  targetPort: number,
  listenHost = '127.0.0.1',
): Promise<TcpProxy> {
  let open = true;
  let frozen = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    if (frozen) {
      // Accepted and never answered; closed by the client (its timeout) or by restore()/close().
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      return;
    }
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: () => accepted,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    freeze() {
      frozen = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
      if (frozen) {
        frozen = false;
        for (const s of sockets) s.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
