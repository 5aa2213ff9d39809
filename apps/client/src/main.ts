import { ConfigError, explainListenError, loadEnvFile } from '@chorus/service-kit';
import { build } from './app.js';
import { loadClientConfig, type ClientConfig } from './config.js';

/** Loads the configuration once, builds the app and listens. */
async function main(): Promise<void> {
  loadEnvFile(process.cwd());
  let config: ClientConfig;
  try {
    config = loadClientConfig(process.env);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `invalid configuration: ${(err as Error).message}`;
    process.stderr.write(`chorus client: ${message}\n`);
    process.exit(1);
  }
  let app;
  try {
    app = await build(config);
    await app.listen({ port: config.PORT, host: config.HOST, listenTextResolver: () => 'accepting connections' });
  } catch (err) {
    process.stderr.write(`chorus client: ${explainListenError(err, config.PORT) ?? (err as Error).message}\n`);
    process.exit(1);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  app.log.info({ port, server: config.SERVER }, 'listening');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void app.close().then(() => process.exit(0)));
  }
}

void main();
