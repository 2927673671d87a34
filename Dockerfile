# syntax=docker/dockerfile:1
# xai-gateway image: build with the dev toolchain, run with production dependencies only (docs/configuration.md).
#   docker build -t xai-gateway .      or      docker compose up -d   (see docker-compose.yml)

# ---- build: TypeScript → dist/ --------------------------------------------------------------------------
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` script builds, and src/ is not copied yet; no dependency
# needs an install script to compile the gateway.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The fake xAI server and the demo that uses it are for tests and trying things out: not in the runtime image.
RUN npm run build && rm -rf dist/src/fake dist/src/demo.js dist/src/demo.d.ts

# ---- prod-deps: the runtime's node_modules, without dev dependencies -------------------------------------
FROM node:22-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts again: `prepare` would try to build (no TypeScript here), and production needs no scripts.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------------
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by the `node` user: the process cannot rewrite its own code or config.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json carries "type": "module", which dist/ needs to load as ES modules.
COPY package.json ./
# The documented example config; docker-compose.yml mounts ./config over it read-only.
COPY config ./config
# The settlement journal's directory (store.journalPath ./data/settlements.jsonl), writable by `node` alone;
# docker-compose.yml mounts a volume on it so the journal outlives the container.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# The slim image has no curl: ask node itself. /healthz answers 200 while the process runs (docs/operations.md).
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly, no npm in between: SIGTERM (drain) and SIGHUP (reload) reach the gateway (docs/configuration.md).
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "dist/src/main.js"]
