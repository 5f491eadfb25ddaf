/**
 * A Kafka message's headers as the dead letters keep them: a list of (key, value bytes) pairs, repeated keys
 * repeated, a null value null, every byte of a value kept (NUL and invalid UTF-8 included).
 *
 * What kafkajs 2.2 hands over, and therefore what is kept (its record decoder,
 * `kafkajs/src/protocol/recordBatch/record/v0/decoder.js`, folds the wire list into an object):
 * - values: exact bytes (`Buffer`), or null for a null value;
 * - keys: decoded as UTF-8 text by kafkajs, so a key that is not valid UTF-8 arrives with U+FFFD in place of
 *   the bad bytes (stored as the UTF-8 of what arrived);
 * - order: the values of one key in wire order; keys in the order they first appear, except that keys that
 *   are array indices ("0", "17") come first in ascending order (JavaScript object key order). The
 *   interleaving of different keys (a, b, a) becomes (a, a, b).
 */
export interface MessageHeader {
  /** The key's UTF-8 bytes. */
  key: Buffer;
  /** The value's bytes; null when the header has no value. */
  value: Buffer | null;
}

type KafkaHeaderValue = Buffer | string | null | undefined;

function headerValue(value: KafkaHeaderValue): Buffer | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}

/** What a message without headers (nearly every one) gets: one shared list, nothing made per message. */
const NO_HEADERS: readonly MessageHeader[] = Object.freeze([]);

/** kafkajs' `message.headers` (a repeated key is an array of its values) as the ordered list. */
export function headersOf(
  headers: Readonly<Record<string, KafkaHeaderValue | readonly KafkaHeaderValue[]>> | undefined,
): readonly MessageHeader[] {
  let out: MessageHeader[] | undefined;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    const key = Buffer.from(name, 'utf8');
    out ??= [];
    if (Array.isArray(value)) {
      for (const item of value as readonly KafkaHeaderValue[]) out.push({ key, value: headerValue(item) });
    } else {
      out.push({ key, value: headerValue(value as KafkaHeaderValue) });
    }
  }
  return out ?? NO_HEADERS;
}

/** Headers from text pairs (tests, tools): `[['trace-id', 't-1'], ['n', null]]`. */
export function textHeaders(pairs: ReadonlyArray<readonly [string, string | null]>): MessageHeader[] {
  return pairs.map(([key, value]) => ({
    key: Buffer.from(key, 'utf8'),
    value: value === null ? null : Buffer.from(value, 'utf8'),
  }));
}
