# syntax=docker/dockerfile:1.7
# Warden audit. Build from the repository root:
#   docker build -f deploy/audit.Dockerfile -t warden/audit:dev .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --workspace @warden/audit --include-workspace-root --no-audit --no-fund \
 && npx turbo run build --filter=@warden/audit... \
 && npm prune --omit=dev --workspace @warden/audit --include-workspace-root

FROM node:20-bookworm-slim
# A young generation of 2 × 64 MiB semi-spaces (V8's default is 16 MiB): an Append's events
# wait for their fsync and the store write longer than a scavenge takes to come round, so
# with the default most of each event is copied twice and promoted. Measured with
# node bench/audit/run.mjs (which starts the service with the options of CMD below): six
# alternating pairs, batch-signed ingest with producer signing included 18,300 → 19,750
# events/s on average, better in every pair, for ≈ 150 MiB more peak memory. docs/audit.md
# ("Issue 16: before and after", "Memory").
ENV NODE_ENV=production \
    AUDIT_GRPC_ADDRESS=0.0.0.0:50052 \
    AUDIT_DATA_DIR=/var/lib/warden-audit
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
# The shared packages (@warden/audit-events, errors, names, service-kit, spool, …): node_modules/@warden/* link here.
COPY --from=build /src/packages ./packages
COPY --from=build /src/proto/package.json ./proto/package.json
COPY --from=build /src/proto/dist ./proto/dist
COPY --from=build /src/services/audit/package.json ./services/audit/package.json
COPY --from=build /src/services/audit/dist ./services/audit/dist
# The spool (and, without CLICKHOUSE_URL, the embedded engine's data) lives here.
RUN mkdir -p /var/lib/warden-audit && chown node:node /var/lib/warden-audit
USER node
VOLUME /var/lib/warden-audit
EXPOSE 50052
CMD ["node", "--max-semi-space-size=64", "services/audit/dist/main.js"]
