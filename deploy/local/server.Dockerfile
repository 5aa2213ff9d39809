# The Chorus chat server (apps/server) as a container image.
# Build from the repository root:  docker build -f deploy/server.Dockerfile -t chorus-server .
# The published deploy/server.Dockerfile with the local base image localhost/chorus-node:20 (deploy/local/build-images.sh); a test keeps them identical otherwise.

# ---- deps: the server's production dependencies; better-sqlite3 compiles here from source
FROM localhost/chorus-node:20 AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/service-kit/package.json packages/service-kit/
COPY apps/server/package.json apps/server/
COPY apps/client/package.json apps/client/
COPY apps/web/package.json apps/web/
COPY bench/package.json bench/
# The native addon is built against this node's own headers (no download of prebuilt binaries or headers);
# its sources and object files (22 MB) are dropped, build/Release/better_sqlite3.node (2 MB) stays.
RUN npm_config_build_from_source=true npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")" \
    npm ci --omit=dev --workspace apps/server --no-audit --no-fund \
 && mkdir -p apps/server/node_modules \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/test_extension.node \
 && cd /app && npm cache clean --force

# ---- build: every dev dependency, compiles the TypeScript (no install scripts needed for tsc)
FROM localhost/chorus-node:20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/service-kit/package.json packages/service-kit/
COPY apps/server/package.json apps/server/
COPY apps/client/package.json apps/client/
COPY apps/web/package.json apps/web/
COPY bench/package.json bench/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
COPY apps/server/ apps/server/
RUN npx tsc -b apps/server

# ---- runtime: node, the production dependencies and the compiled JavaScript only
FROM localhost/chorus-node:20 AS runtime
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=deps /app/apps/server/node_modules/ apps/server/node_modules/
COPY --from=build /app/package.json ./
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist/ packages/protocol/dist/
COPY --from=build /app/packages/service-kit/package.json packages/service-kit/
COPY --from=build /app/packages/service-kit/dist/ packages/service-kit/dist/
COPY --from=build /app/apps/server/package.json apps/server/
COPY --from=build /app/apps/server/dist/ apps/server/dist/
COPY docs/protocol.md docs/
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 (no shell in between): SIGTERM reaches the server, which closes its sockets with 1001 and exits 0.
CMD ["node", "apps/server/dist/main.js"]
