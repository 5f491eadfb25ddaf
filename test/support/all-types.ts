/** A record with every Avro type and logical type the sink maps, for the mapping and conversion tests. */

import type { CatalogEntry } from '../../src/contracts/catalog.ts';
import { schemaEntry } from './schema-entry.ts';

export const allTypesSchema = {
  type: 'record',
  name: 'AllTypes',
  namespace: 'test',
  fields: [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'flag', type: 'boolean' },
    { name: 'small', type: 'int' },
    { name: 'big', type: 'long' },
    { name: 'single', type: 'float' },
    { name: 'double', type: 'double' },
    { name: 'label', type: 'string' },
    { name: 'colour', type: { type: 'enum', name: 'Colour', symbols: ['RED', 'GREEN', 'BL_UE'] } },
    { name: 'raw', type: 'bytes' },
    { name: 'four', type: { type: 'fixed', name: 'Four', size: 4 } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 3 } },
    {
      name: 'fixed_amount',
      type: { type: 'fixed', name: 'Money', size: 4, logicalType: 'decimal', precision: 9 },
    },
    { name: 'at_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'at_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    {
      name: 'nested',
      type: {
        type: 'record',
        name: 'Nested',
        fields: [
          { name: 'when_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
          { name: 'when_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
          { name: 'blob', type: 'bytes' },
        ],
      },
    },
    { name: 'list', type: { type: 'array', items: 'long' } },
    { name: 'tags', type: { type: 'map', values: 'string' } },
    { name: 'maybe_text', type: ['null', 'string'], default: null },
    { name: 'maybe_day', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
    {
      name: 'maybe_amount',
      type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 3 }],
      default: null,
    },
    { name: 'text_or_long', type: ['null', 'string', 'long'], default: null },
    { name: 'text_or_number', type: ['string', 'double'] },
    { name: 'maybe_us_last', type: [{ type: 'long', logicalType: 'timestamp-micros' }, 'null'] },
    { name: 'time_ms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'time_us', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'local_ms', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'local_us', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    {
      name: 'either_record',
      type: [
        { type: 'record', name: 'Left', fields: [{ name: 'l', type: 'float' }] },
        { type: 'record', name: 'Right', fields: [{ name: 'r', type: 'bytes' }] },
      ],
    },
    {
      name: 'deep',
      type: {
        type: 'record',
        name: 'Deep1',
        fields: [
          {
            name: 'd2',
            type: {
              type: 'record',
              name: 'Deep2',
              fields: [
                {
                  name: 'd3',
                  type: {
                    type: 'record',
                    name: 'Deep3',
                    fields: [
                      { name: 'at', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
                      { name: 'time', type: { type: 'int', logicalType: 'time-millis' } },
                      { name: 'x', type: 'double' },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
};

/** A catalog entry for the all-types record, as loadCatalog would build it. */
export function allTypesEntry(writeMode: 'insert' | 'upsert' = 'insert'): CatalogEntry {
  return schemaEntry(allTypesSchema, {
    topic: 'test.all-types',
    table: 'all_types',
    versionField: writeMode === 'upsert' ? 'big' : undefined,
  });
}
