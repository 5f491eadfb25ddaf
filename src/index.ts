/**
 * The package's public API: `import { … } from 'schema-first-pipeline'`. Importing it runs nothing (no
 * connection, no output, no environment read): configuration is read when `loadConfig()` is called, and
 * every client connects when its `connect`/`start` is called. The CLI (`pipeline`) is built from these same
 * pieces. The generated event types are also at `schema-first-pipeline/generated`.
 */

export { type DecodeOutcome, MessageDecoder, type MessageDecoderOptions } from './codec/message-decoder.ts';
export { decodeWireFormat, encodeWireFormat, type WireMessage } from './codec/wire-format.ts';
export {
  type ConsumerSettings,
  type DatabaseSettings,
  type Env,
  type EnvironmentSources,
  type KafkaSettings,
  loadConfig,
  type PipelineConfig,
  parseConfig,
  type RegistrySettings,
  readEnvironment,
  type TlsSettings,
} from './config.ts';
export {
  type CommittedChunk,
  PipelineConsumer,
  type PipelineConsumerOptions,
  type TopicCounters,
} from './consumer/pipeline-consumer.ts';
export {
  assertStartupContract,
  checkStartupContract,
  type StartupContractInput,
  type StartupContractReport,
} from './consumer/startup-gate.ts';
export {
  type Catalog,
  type CatalogEntry,
  entryFor,
  loadCatalog,
  type SchemaVersion,
  type WriteMode,
} from './contracts/catalog.ts';
export type * from './contracts/generated/events.ts';
export { asUuid, type Decimal, type IsoDate, isUuid, type Uuid } from './contracts/logical-types.ts';
export { RegistryClient } from './contracts/registry-client.ts';
export {
  checkSchemas,
  type RegisterSchemasOptions,
  type Registration,
  registerSchemas,
  type SchemaCheck,
} from './contracts/schema-workflow.ts';
export {
  ConfigurationError,
  type ErrorCode,
  PipelineError,
  type PoisonCode,
  PoisonMessageError,
  type TransientCode,
  TransientError,
} from './errors.ts';
export { createKafka } from './kafka/kafka-client.ts';
export { type CreateTopicsOptions, createTopics, type TopicState } from './producer/topics.ts';
export {
  type SchemaIdLookup,
  type SendOptions,
  type SendResult,
  TypedProducer,
  type TypedProducerOptions,
} from './producer/typed-producer.ts';
export { createPool, type PoolOptions } from './sink/database.ts';
export {
  type MigrateOptions,
  type MigrationStatus,
  migrateDown,
  migrateUp,
  migrationStatus,
} from './sink/migrations.ts';
