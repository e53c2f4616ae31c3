# syntax=docker/dockerfile:1
# mcp-ssh-orchestrator: MCP over stdio (run with `docker run -i`), audit trail as JSON lines on
# stderr (captured by Docker's json-file log driver), optional Prometheus metrics.
ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY elk ./elk
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MCP_SSH_CONFIG_DIR=/app/config \
    MCP_SSH_KEYS_DIR=/app/keys \
    MCP_SSH_SECRETS_DIR=/app/secrets
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The Elasticsearch/Kibana kit, read by `setup elasticsearch`.
COPY --from=build --chown=root:root /app/elk ./elk
# Config, keys and secrets are mounted read-only; the app needs no writable path of its own.
RUN mkdir -p /app/config /app/keys /app/secrets
USER node
# Healthy means: the mounted config loads (known_hosts included) and, when MCP_SSH_METRICS_ADDR
# is set, the running server answers on /metrics.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "check"]
ENTRYPOINT ["node", "dist/cli.js"]
