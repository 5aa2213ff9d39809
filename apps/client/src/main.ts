// First: it holds V8's young generation small while the other modules load.
import '@chorus/service-kit/start-small';
import {
  browserUrl,
  ConfigError,
  envFileLogLine,
  explainListenError,
  letYoungGenerationGrow,
  listenOnce,
  loadEnvFile,
} from '@chorus/service-kit';
import type { FastifyInstance } from 'fastify';
import { build } from './app.js';
import { loadClientConfig, type ClientConfig } from './config.js';

/** Loads the configuration once, builds the app and listens. */
async function main(): Promise<void> {
  const envFile = loadEnvFile(process.cwd());
  let config: ClientConfig;
  try {
    config = loadClientConfig(process.env);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `invalid configuration: ${(err as Error).message}`;
    process.stderr.write(`chorus client: ${message}\n`);
    process.exit(1);
  }
  let app: FastifyInstance;
  let port: number;
  try {
    app = await build(config, { terminal: process.stdout.isTTY === true });
    const { fields, message } = envFileLogLine(envFile);
    app.log.info(fields, message);
    port = await listenOnce(app, { port: config.PORT, host: config.HOST });
  } catch (err) {
    // One plain line, on stderr only: the reason it stopped, said once.
    process.stderr.write(`chorus client: ${explainListenError(err, config.PORT) ?? (err as Error).message}\n`);
    process.exit(1);
  }
  app.log.info({ port, server: config.SERVER }, 'listening');
  letYoungGenerationGrow();
  // The line a person starting Chorus looks for.
  const url = browserUrl(config.HOST, port);
  app.log.info({ url }, `open ${url} in a browser to chat`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void app.close().then(() => process.exit(0)));
  }
}

void main();
