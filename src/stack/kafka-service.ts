import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, type StackSettings } from '../config.ts';
import { PipelineError } from '../errors.ts';
import { findJava } from './java-runtime.ts';
import type { LocalService } from './local-service.ts';
import { kafkaAnswers } from './readiness.ts';
import { spawnDetached } from './service-process.ts';
import type { StackArtifacts } from './stack-artifacts.ts';

/** Single-node KRaft broker (broker and controller in one process), PLAINTEXT on 127.0.0.1 only. */
export function kafkaService(settings: StackSettings, artifacts: () => StackArtifacts): LocalService {
  const home = join(settings.dir, 'kafka');
  const dataDir = join(home, 'data');
  const propertiesFile = join(home, 'server.properties');
  const brokers = `127.0.0.1:${settings.kafkaPort}`;

  const serverProperties = () =>
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${settings.kafkaControllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${settings.kafkaPort},CONTROLLER://127.0.0.1:${settings.kafkaControllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${settings.kafkaPort}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
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
    ],
    logFile: join(settings.dir, 'logs', 'kafka.log'),
    pidFile: join(settings.dir, 'run', 'kafka.pid'),
    stopSignal: 'SIGTERM',
    async start() {
      const java = findJava('The Kafka broker', 17, settings.kafkaJavaHome, 'STACK_KAFKA_JAVA_HOME');
      const { kafkaLibDir } = artifacts();
      const classpath = join(kafkaLibDir, '*');
      mkdirSync(home, { recursive: true });
      writeFileSync(propertiesFile, serverProperties());
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        try {
          execFileSync(
            java.executable,
            ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', propertiesFile],
            { stdio: 'pipe', env: { ...process.env, KAFKA_LOG4J_OPTS: '' } },
          );
        } catch (error) {
          const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
          throw new PipelineError('STACK_START_FAILED', `kafka-storage format failed: ${stderr}`, {
            cause: error,
          });
        }
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
  };
}

/** A KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` prints. */
function clusterId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}
