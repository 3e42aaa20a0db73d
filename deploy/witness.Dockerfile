# syntax=docker/dockerfile:1.7
# warden-witness: an independent witness of the audit log (C2SP tlog-witness). Meant to run on
# another machine, by someone other than the audit service's operator. Build from the repository root:
#   docker build -f deploy/witness.Dockerfile -t warden/witness:dev .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --workspace @warden/witness --include-workspace-root --no-audit --no-fund \
 && npx turbo run build --filter=@warden/witness... \
 && npm prune --omit=dev --workspace @warden/witness --include-workspace-root

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WITNESS_LISTEN=0.0.0.0:7380 \
    WITNESS_STATE_DIR=/var/lib/warden-witness/state \
    WITNESS_KEY_FILE=/var/lib/warden-witness/witness.pem
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/proto/package.json ./proto/package.json
COPY --from=build /src/proto/dist ./proto/dist
# The shared packages (@warden/audit-events, @warden/spool, …): node_modules/@warden/* link here.
COPY --from=build /src/packages ./packages
COPY --from=build /src/tools/witness/package.json ./tools/witness/package.json
COPY --from=build /src/tools/witness/dist ./tools/witness/dist
# The key and the per-log state (the latest cosigned checkpoint of each log) live here: keep it.
RUN mkdir -p /var/lib/warden-witness && chown node:node /var/lib/warden-witness
USER node
VOLUME /var/lib/warden-witness
EXPOSE 7380
CMD ["node", "tools/witness/dist/main.js"]
