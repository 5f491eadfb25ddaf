import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, type StackSettings } from '../config.ts';
import { PipelineError } from '../errors.ts';
import { findJava } from './java-runtime.ts';
import type { LocalService } from './local-service.ts';
import { kafkaAnswers } from './readiness.ts';
import { spawnDetached } from './service-process.ts';
import type { StackArtifacts } from './stack-artifacts.ts';
import { ensureStackCertificates, type StackCertificates } from './stack-certificates.ts';

/**
 * The SSL (client certificate required) and SASL_SSL (SCRAM-SHA-512) listeners of STACK_SECURE=true. Kafka
 * 3.9 reads the PEM files directly: no keytool, no keystore password.
 */
function secureListenerProperties(certificates: StackCertificates): string[] {
  return [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${certificates.serverKeystoreFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certificates.caFile}`,
    'listener.name.ssl.ssl.client.auth=required',
    'listener.name.sasl_ssl.ssl.client.auth=none',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  ];
}

/**
 * Single-node KRaft broker (broker and controller in one process), PLAINTEXT on 127.0.0.1 only; with
 * STACK_SECURE=true also an SSL and a SASL_SSL listener.
 */
export function kafkaService(settings: StackSettings, artifacts: () => StackArtifacts): LocalService {
  const home = join(settings.dir, 'kafka');
  const dataDir = join(home, 'data');
  const propertiesFile = join(home, 'server.properties');
  // Written once the metadata log holds the SCRAM user: a broker formatted before STACK_SECURE has none.
  const scramMarker = join(home, 'scram-user-added');
  const brokers = `127.0.0.1:${settings.kafkaPort}`;
  const sslBrokers = `127.0.0.1:${settings.kafkaSslPort}`;
  const saslSslBrokers = `127.0.0.1:${settings.kafkaSaslSslPort}`;

  const serverProperties = (certificates: StackCertificates | undefined) =>
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${settings.kafkaControllerPort}`,
      certificates
        ? `listeners=PLAINTEXT://${brokers},CONTROLLER://127.0.0.1:${settings.kafkaControllerPort},SSL://${sslBrokers},SASL_SSL://${saslSslBrokers}`
        : `listeners=PLAINTEXT://${brokers},CONTROLLER://127.0.0.1:${settings.kafkaControllerPort}`,
      certificates
        ? `advertised.listeners=PLAINTEXT://${brokers},SSL://${sslBrokers},SASL_SSL://${saslSslBrokers}`
        : `advertised.listeners=PLAINTEXT://${brokers}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      certificates
        ? 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL'
        : 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      ...(certificates ? secureListenerProperties(certificates) : []),
      `log.dirs=${dataDir}`,
      // One node: every internal topic has one replica.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      // Like Aiven's default: topics are created on purpose, never by a typo in a producer.
      'auto.create.topics.enable=false',
      'num.partitions=1',
      'log.segment.bytes=134217728',
      '',
    ].join('\n');

  return {
    name: 'kafka',
    title: 'Kafka broker',
    ports: [
      { port: settings.kafkaPort, variable: 'STACK_KAFKA_PORT' },
      { port: settings.kafkaControllerPort, variable: 'STACK_KAFKA_CONTROLLER_PORT' },
      ...(settings.secure
        ? [
            { port: settings.kafkaSslPort, variable: 'STACK_KAFKA_SSL_PORT' },
            { port: settings.kafkaSaslSslPort, variable: 'STACK_KAFKA_SASL_SSL_PORT' },
          ]
        : []),
    ],
    logFile: join(settings.dir, 'logs', 'kafka.log'),
    pidFile: join(settings.dir, 'run', 'kafka.pid'),
    stopSignal: 'SIGTERM',
    async start() {
      const java = findJava('The Kafka broker', 17, settings.kafkaJavaHome, 'STACK_KAFKA_JAVA_HOME');
      const { kafkaLibDir } = artifacts();
      const classpath = join(kafkaLibDir, '*');
      mkdirSync(home, { recursive: true });
      const certificates = settings.secure ? ensureStackCertificates(settings.dir) : undefined;
      writeFileSync(propertiesFile, serverProperties(certificates));
      const formatted = existsSync(join(dataDir, 'meta.properties'));
      if (certificates && formatted && !existsSync(scramMarker)) {
        throw new PipelineError(
          'STACK_START_FAILED',
          `the broker's data in ${dataDir} was made without STACK_SECURE, so it has no SCRAM user: run \`npm run stack:down\`, remove ${home}, and start again`,
        );
      }
      if (!formatted) {
        // With KRaft, SCRAM users are written into the metadata log when it is formatted.
        const scram = certificates
          ? [
              '--add-scram',
              `SCRAM-SHA-512=[name=${certificates.saslUsername},password=${certificates.saslPassword()}]`,
            ]
          : [];
        try {
          execFileSync(
            java.executable,
            [
              '-cp',
              classpath,
              'kafka.tools.StorageTool',
              'format',
              '-t',
              kafkaClusterId(),
              '-c',
              propertiesFile,
              ...scram,
            ],
            { stdio: 'pipe', env: { ...process.env, KAFKA_LOG4J_OPTS: '' } },
          );
        } catch (error) {
          const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
          // The command line holds the SCRAM password: the error keeps only the tool's own output.
          throw new PipelineError('STACK_START_FAILED', `kafka-storage format failed: ${stderr}`);
        }
        if (certificates) writeFileSync(scramMarker, `${certificates.saslUsername}\n`);
      }
      spawnDetached({
        command: java.executable,
        args: [
          '-Xms256m',
          '-Xmx512m',
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-Djava.awt.headless=true',
          `-Dlog4j.configuration=file:${join(projectRoot, 'stack', 'kafka-log4j.properties')}`,
          `-Dkafka.logs.dir=${join(settings.dir, 'logs')}`,
          '-cp',
          classpath,
          'kafka.Kafka',
          propertiesFile,
        ],
        cwd: home,
        logFile: this.logFile,
        pidFile: this.pidFile,
      });
    },
    ready: () => kafkaAnswers([brokers]),
    connection: () => ({ KAFKA_BROKERS: brokers }),
    secureConnection: () => {
      const certificates = ensureStackCertificates(settings.dir);
      return {
        STACK_SECURE_KAFKA_MTLS_BROKERS: sslBrokers,
        STACK_SECURE_KAFKA_CERT_FILE: certificates.clientCertFile,
        STACK_SECURE_KAFKA_KEY_FILE: certificates.clientKeyFile,
        STACK_SECURE_KAFKA_SASL_SSL_BROKERS: saslSslBrokers,
        STACK_SECURE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        STACK_SECURE_KAFKA_SASL_USERNAME: certificates.saslUsername,
        STACK_SECURE_KAFKA_SASL_PASSWORD_FILE: certificates.saslPasswordFile,
      };
    },
  };
}

/**
 * A KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` prints. One id in 64 starts
 * with `-`, which the storage tool's argument parser reads as an option ("--cluster-id: expected one
 * argument"); Kafka's own `Uuid.randomUuid` draws again in that case (KAFKA-13350), and so does this.
 */
export function kafkaClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
