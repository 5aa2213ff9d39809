import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/**
 * `vite dev` has no apps/client in front of it, so it answers `GET /env` itself
 * with the chat server named by `SERVER` (default ws://localhost:8080). Builds
 * never embed the URL: the deployed client app serves /env at run time.
 */
function devEnv(): Plugin {
  return {
    name: 'chorus-dev-env',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/env', (_req, res) => {
        const body = {
          HOST: server.config.server.host ?? 'localhost',
          PORT: server.config.server.port,
          SERVER: process.env.SERVER ?? 'ws://localhost:8080',
        };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      });
    },
  };
}

export default defineConfig({
  plugins: [svelte(), devEnv()],
  build: {
    outDir: '../../static',
    emptyOutDir: true,
    target: 'es2022',
  },
});
