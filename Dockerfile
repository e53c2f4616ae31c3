# syntax=docker/dockerfile:1
# mcp-ssh-orchestrator: MCP over stdio (run with `docker run -i`), audit trail as JSON lines on
# stderr (captured by Docker's json-file log driver), optional Prometheus metrics.
# Node 24 (LTS); the tests run on 20, 22 and 24.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts yet: `prepare` builds dist/, and the sources are copied below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
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
# The log-pipeline kit (`kit path`, `kit export DIR`); `setup elasticsearch` reads elk/.
COPY --chown=root:root elk ./elk
COPY --chown=root:root otel-collector ./otel-collector
COPY --chown=root:root pipelines ./pipelines
COPY --chown=root:root monitoring ./monitoring
COPY --chown=root:root docs ./docs
# Config, keys and secrets are mounted read-only; the app needs no writable path of its own.
RUN mkdir -p /app/config /app/keys /app/secrets
USER node
# Healthy means: the mounted config loads (known_hosts included) and, when MCP_SSH_METRICS_ADDR
# is set, the running server answers on /metrics.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "check"]
ENTRYPOINT ["node", "dist/cli.js"]
