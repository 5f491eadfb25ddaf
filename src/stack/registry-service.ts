import { join } from 'node:path';
import type { StackSettings } from '../config.ts';
import { findJava } from './java-runtime.ts';
import type { LocalService } from './local-service.ts';
import { registryAnswers } from './readiness.ts';
import { spawnDetached } from './service-process.ts';
import type { StackArtifacts } from './stack-artifacts.ts';

/**
 * Apicurio Registry 3.3 (in-memory storage) serving the Confluent-compatible API. Global compatibility is
 * BACKWARD, the default of Karapace and Confluent, so local runs refuse what production would refuse.
 */
export function registryService(settings: StackSettings, artifacts: () => StackArtifacts): LocalService {
  const url = `http://127.0.0.1:${settings.registryPort}/apis/ccompat/v7`;
  return {
    name: 'registry',
    title: 'Apicurio Registry',
    ports: [
      { port: settings.registryPort, variable: 'STACK_REGISTRY_PORT' },
      { port: settings.registryManagementPort, variable: 'STACK_REGISTRY_MANAGEMENT_PORT' },
    ],
    logFile: join(settings.dir, 'logs', 'registry.log'),
    pidFile: join(settings.dir, 'run', 'registry.pid'),
    stopSignal: 'SIGTERM',
    async start() {
      // Apicurio 3.3 is compiled for Java 21.
      const java = findJava(
        'Apicurio Registry 3.3',
        21,
        settings.registryJavaHome,
        'STACK_REGISTRY_JAVA_HOME',
      );
      const { registryAppDir } = artifacts();
      spawnDetached({
        command: java.executable,
        args: [
          '-Xmx384m',
          '-XX:+UseSerialGC',
          '-Djava.awt.headless=true',
          '-Dquarkus.http.host=127.0.0.1',
          `-Dquarkus.http.port=${settings.registryPort}`,
          '-Dquarkus.management.host=127.0.0.1',
          `-Dquarkus.management.port=${settings.registryManagementPort}`,
          '-Dapicurio.rules.global.compatibility=BACKWARD',
          '-jar',
          join(registryAppDir, 'quarkus-run.jar'),
        ],
        cwd: registryAppDir,
        logFile: this.logFile,
        pidFile: this.pidFile,
      });
    },
    ready: () => registryAnswers(url),
    connection: () => ({ SCHEMA_REGISTRY_URL: url }),
  };
}
