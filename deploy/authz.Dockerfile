# syntax=docker/dockerfile:1.7
# Warden authz. Build from the repository root:
#   docker build -f deploy/authz.Dockerfile -t warden/authz:dev .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# Only authz's dependencies; then drop the build tools, the dev dependencies (@warden/audit,
# which only the relay test starts) and the optional packages: embedded Postgres's binaries
# (a container is given DATABASE_URL).
RUN npm ci --workspace @warden/authz --include-workspace-root --no-audit --no-fund \
 && npx turbo run build --filter=@warden/authz... \
 && npm prune --omit=dev --omit=optional --workspace @warden/authz --include-workspace-root

FROM node:20-bookworm-slim
# V8 lets the old generation grow to about four times the live data before a full collection
# (its default growth factor on a machine with gigabytes). Growth ×1.8 keeps a replica holding
# the benchmark's whole world (10,000 subjects, 100,000 bindings) under 300 MB for more GC CPU
# (+4-16 % per Check measured, against +18-26 % for --max-old-space-size caps); the live data itself is bounded by AUTHZ_CACHE_MAX_BYTES. docs/scaling.md
# ("Memory") has the measurements; npm run bench runs authz with the node options of CMD below
# (a V8 flag Node does not accept in NODE_OPTIONS, hence on the command line).
ENV NODE_ENV=production \
    AUTHZ_GRPC_HOST=0.0.0.0 \
    AUTHZ_HTTP_HOST=0.0.0.0 \
    AUTHZ_GRPC_PORT=50051 \
    AUTHZ_HTTP_PORT=8080
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
# The shared packages (@warden/audit-events, errors, names, service-kit, client-kit, …): node_modules/@warden/* link here.
COPY --from=build /src/packages ./packages
COPY --from=build /src/proto/package.json ./proto/package.json
COPY --from=build /src/proto/dist ./proto/dist
COPY --from=build /src/services/authz/package.json ./services/authz/package.json
COPY --from=build /src/services/authz/dist ./services/authz/dist
# The web console's built files (served at /console when AUTHZ_CONSOLE=true; authz imports their path).
COPY --from=build /src/apps/console/package.json ./apps/console/package.json
COPY --from=build /src/apps/console/dist ./apps/console/dist
# The image runs as the unprivileged `node` user; in production DATABASE_URL points at a real Postgres.
USER node
EXPOSE 50051 8080
CMD ["node", "--heap-growing-percent=80", "services/authz/dist/main.js"]
