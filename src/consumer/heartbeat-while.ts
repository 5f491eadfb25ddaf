/**
 * Keeps the group membership alive while one long step runs (a COPY, a lock wait, a registry call), so the
 * session timeout bounds how long a dead member is waited for, not how long a transaction may take.
 *
 * kafkajs heartbeats only when called; before this, the longest write had to fit in the session timeout.
 * A heartbeat refused meanwhile (the group rebalances) does not interrupt the step: a transaction is not
 * abandoned half-way. The caller heartbeats again right after the step, and that one throws, ending the batch.
 */
export async function heartbeatWhile<T>(
  operation: () => Promise<T>,
  heartbeat: () => Promise<void>,
  intervalMs: number,
): Promise<T> {
  let inFlight = false;
  const timer = setInterval(() => {
    // One at a time: a heartbeat stuck on a dead broker must not pile up requests.
    if (inFlight) return;
    inFlight = true;
    heartbeat()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
      });
  }, intervalMs);
  try {
    return await operation();
  } finally {
    clearInterval(timer);
  }
}
