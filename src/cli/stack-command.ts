import { loadStackSettings } from '../config.ts';
import { UsageError } from '../errors.ts';
import { stackDown, stackSecureEnvFile, stackStatus, stackUp } from '../stack/stack.ts';
import type { Command } from './command.ts';

export const stackCommand: Command = {
  usage: 'pipeline stack <up|down|status>',
  positionals: ['action'],
  help: [
    'up      start every service not configured elsewhere and wait until each answers; idempotent',
    'down    stop the services the stack started (also after a crash)',
    'status  say, per service, whether it is external, ready, starting or stopped',
    '',
    'A service named by KAFKA_BROKERS, SCHEMA_REGISTRY_URL or DATABASE_URL (environment or .env) is left alone.',
    'Ports: STACK_KAFKA_PORT (19092), STACK_KAFKA_CONTROLLER_PORT (19093), STACK_REGISTRY_PORT (18081),',
    'STACK_REGISTRY_MANAGEMENT_PORT (19000), STACK_POSTGRES_PORT (15432). State and logs: STACK_DIR (.stack).',
    '',
    'STACK_SECURE=true (default false) also makes a throwaway CA (openssl) and starts a Kafka listener with',
    'client certificates (STACK_KAFKA_SSL_PORT, 19094), one with SASL_SSL SCRAM-SHA-512',
    '(STACK_KAFKA_SASL_SSL_PORT, 19095) and PostgreSQL with TLS; how to reach them: STACK_DIR/stack-secure.env.',
  ].join('\n'),
  async run(args, io) {
    const [action] = args.positionals;
    const settings = loadStackSettings();
    switch (action) {
      case 'up': {
        const started = Date.now();
        await stackUp(settings, io.out);
        if (settings.secure) io.out(`secure endpoints: ${stackSecureEnvFile(settings)}`);
        io.out(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      case 'down':
        await stackDown(settings, io.out);
        io.out('stack stopped');
        return;
      case 'status':
        for (const s of await stackStatus(settings)) {
          io.out(
            `${s.name.padEnd(9)} ${s.state.padEnd(9)}${s.pid ? ` pid ${s.pid}` : ''}${s.logFile ? `  ${s.logFile}` : ''}`,
          );
        }
        return;
      default:
        throw new UsageError(`unknown action "${action ?? ''}"`);
    }
  },
};
