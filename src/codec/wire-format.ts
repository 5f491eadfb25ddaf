/**
 * The Confluent wire format every Kafka value of the pipeline uses: byte 0 is the magic byte 0, bytes 1–4 the
 * registry's schema id (big-endian, signed 32-bit as in Confluent's serializers), then the Avro binary body.
 */
import { PoisonMessageError } from '../errors.ts';

export const MAGIC_BYTE = 0;
/** Magic byte plus schema id. */
export const WIRE_HEADER_LENGTH = 5;

export interface WireMessage {
  schemaId: number;
  /** The Avro binary body: a view into the decoded buffer, not a copy. */
  body: Buffer;
}

/** Prefixes an Avro body with the magic byte and the schema id. */
export function encodeWireFormat(schemaId: number, body: Buffer): Buffer {
  const buffer = Buffer.allocUnsafe(WIRE_HEADER_LENGTH + body.length);
  buffer.writeUInt8(MAGIC_BYTE, 0);
  // writeInt32BE refuses ids out of range with a RangeError: a programming error, not bad data.
  buffer.writeInt32BE(schemaId, 1);
  body.copy(buffer, WIRE_HEADER_LENGTH);
  return buffer;
}

/**
 * Splits a Kafka value into schema id and body. Anything that is not the wire format (too short, another
 * magic byte: a JSON or plain-Avro producer on the topic) is a poison message, whatever is retried.
 */
export function decodeWireFormat(buffer: Buffer): WireMessage {
  if (buffer.length < WIRE_HEADER_LENGTH) {
    throw new PoisonMessageError(
      'WIRE_FORMAT_INVALID',
      `the value has ${buffer.length} byte(s), the Confluent wire format needs at least ${WIRE_HEADER_LENGTH} (magic byte and schema id)`,
      { details: { length: buffer.length } },
    );
  }
  const magic = buffer.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new PoisonMessageError(
      'WIRE_FORMAT_INVALID',
      `the value starts with byte 0x${magic.toString(16).padStart(2, '0')}, the Confluent wire format starts with the magic byte 0x00`,
      { details: { magicByte: magic, length: buffer.length } },
    );
  }
  return { schemaId: buffer.readInt32BE(1), body: buffer.subarray(WIRE_HEADER_LENGTH) };
}
