# localhost/chorus-node:20: a local stand-in for node:20-bookworm-slim, for hosts that reach no
# container registry. Debian bookworm (minbase, imported as localhost/debian:bookworm) plus this
# host's own Node.js 20 runtime, staged by build-images.sh into the build context:
#   usr/bin/node, usr/lib/node_modules/npm, usr/include/node (headers, for native addons), and
#   etc/ssl/certs/ca-certificates.crt: the CAs this host trusts (its NODE_EXTRA_CA_CERTS), so that
#   npm inside the builds trusts the same TLS chain to the npm registry as npm on the host.
# Like the official image: npm and npx on the PATH, a user `node` with uid/gid 1000.
FROM localhost/debian:bookworm
COPY rootfs/ /
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm \
 && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
