import type { TopicCounters } from '../consumer/pipeline-consumer.ts';

/** One line per topic: rows written, deleted, dead letters, duplicates skipped, and the overall rate. */
export function formatCounters(counters: ReadonlyMap<string, TopicCounters>, elapsedMs: number): string {
  let total = 0;
  const lines = [...counters].map(([topic, c]) => {
    total += c.written + c.deleted + c.superseded + c.deadLettered;
    return `  ${topic}: ${c.written} rows, ${c.superseded} superseded by newer versions, ${c.deleted} deleted, ${c.deadLettered} dead letters, ${c.skipped} redeliveries skipped${c.lost > 0 ? `, ${c.lost} lost to retention before they were consumed` : ''}`;
  });
  const rate = elapsedMs > 0 ? Math.round((total * 1000) / elapsedMs) : 0;
  return [`${total} messages in ${(elapsedMs / 1000).toFixed(1)} s (${rate}/s)`, ...lines].join('\n');
}
