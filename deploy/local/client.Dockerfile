# The Chorus client app (apps/client serving the built Svelte web client) as a container image.
# Build from the repository root:  docker build -f deploy/client.Dockerfile -t chorus-client .
# The published deploy/client.Dockerfile with the local base image localhost/chorus-node:20 (deploy/local/build-images.sh); a test keeps them identical otherwise.

# ---- deps: the client app's production dependencies (no native addons)
FROM localhost/chorus-node:20 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/service-kit/package.json packages/service-kit/
COPY apps/server/package.json apps/server/
COPY apps/client/package.json apps/client/
COPY apps/web/package.json apps/web/
COPY bench/package.json bench/
RUN npm ci --omit=dev --workspace apps/client --ignore-scripts --no-audit --no-fund \
 && mkdir -p apps/client/node_modules \
 && npm cache clean --force

# ---- build: every dev dependency, compiles the TypeScript and the web client (Vite writes static/)
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
COPY apps/client/ apps/client/
COPY apps/web/ apps/web/
RUN npx tsc -b apps/client packages/protocol \
 && npm run build -w apps/web

# ---- runtime: node, the production dependencies, the compiled JavaScript and static/ only
FROM localhost/chorus-node:20 AS runtime
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=deps /app/apps/client/node_modules/ apps/client/node_modules/
COPY --from=build /app/package.json ./
COPY --from=build /app/packages/service-kit/package.json packages/service-kit/
COPY --from=build /app/packages/service-kit/dist/ packages/service-kit/dist/
COPY --from=build /app/apps/client/package.json apps/client/
COPY --from=build /app/apps/client/dist/ apps/client/dist/
COPY --from=build /app/static/ static/
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 (no shell in between): SIGTERM reaches the client app, which closes and exits 0.
CMD ["node", "apps/client/dist/main.js"]
