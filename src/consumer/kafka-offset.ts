/**
 * kafkajs hands offsets over as decimal strings (int64: beyond 2^53, so never a JavaScript number). Two of
 * them compare exactly without a BigInt each: a non-negative decimal without leading zeros is the larger
 * when it is longer, and among equally long ones the order of the digits is the order of the strings.
 */
export function offsetBelow(offset: string, next: string): boolean {
  return offset.length < next.length || (offset.length === next.length && offset < next);
}
