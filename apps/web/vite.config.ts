import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
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

/** Text files worth compressing: below 1 KiB the headers cost more than the bytes saved. */
const COMPRESSIBLE = /\.(js|css|html|svg|json|map)$/;
const MIN_BYTES = 1024;

/**
 * Writes a .br and a .gz beside each text file of the build, once, at the
 * highest levels: the client app serves them as they are (@fastify/static's
 * preCompressed) instead of compressing on every request.
 */
function precompress(): Plugin {
  return {
    name: 'chorus-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir ?? '';
      for (const name of [...Object.keys(bundle), 'index.html']) {
        if (!COMPRESSIBLE.test(name)) continue;
        const path = join(dir, name);
        const bytes = readFileSync(path);
        if (bytes.length < MIN_BYTES) continue;
        writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [svelte(), devEnv(), precompress()],
  build: {
    outDir: '../../static',
    emptyOutDir: true,
    target: 'es2022',
  },
});
