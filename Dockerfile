# syntax=docker/dockerfile:1
#
# One image for every inorder service; the command picks which one runs:
#   docker run inorder node services/ingest/dist/main.js      (the default)
#   docker run inorder node services/processor/dist/main.js
#   docker run inorder node services/sequencer/dist/main.js
# Settings come from environment variables (see README, "Running it").
#
# Stages: manifests (package files only) -> build (all deps, tsc -b) and
# runtime (production deps, compiled output, Lua scripts, non-root user).
# .ci/check-containers checks that every command below exists in the build
# output and that the runtime stage copies it.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- manifests: the package files of every workspace, so `npm ci` sees the
# same workspace tree as package-lock.json. A source change does not touch
# this layer, so the install layers below stay cached.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/processor/package.json services/processor/
COPY services/sequencer/package.json services/sequencer/
COPY services/ingest/package.json services/ingest/
COPY scripts/testkit/package.json scripts/testkit/
COPY scripts/tools/package.json scripts/tools/
COPY scripts/lab/package.json scripts/lab/

# --- build: every dependency, then compile every package (tsc -b follows the
# project references of tsconfig.json).
FROM manifests AS build
# No dependency needs its install script (they print warnings and work without).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY shared shared
COPY services services
COPY scripts scripts
RUN npx tsc -b

# --- runtime: the production dependencies of the services (not of scripts/*),
# plus what each service reads at run time: its dist/ and the shared package's
# files (dist/ and lua/, the Lua scripts being read relative to shared/dist).
FROM manifests AS runtime
ENV NODE_ENV=production
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
      --workspace=shared \
      --workspace=services/processor \
      --workspace=services/sequencer \
      --workspace=services/ingest \
 && npm cache clean --force
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/shared/lua shared/lua
COPY --from=build /app/services/processor/dist services/processor/dist
COPY --from=build /app/services/sequencer/dist services/sequencer/dist
COPY --from=build /app/services/ingest/dist services/ingest/dist

# The files stay owned by root: the services can read their code, not change it.
USER node

# ingest listens on PORT; processors and sequencers serve /healthz and /readyz
# on HEALTH_PORT. Both are set here so the HEALTHCHECK below works for any of
# the three commands: it passes when either port answers /readyz with 200
# (the process is up and reaches Redis).
ENV PORT=8080 HEALTH_PORT=9090
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const ports = [process.env.HEALTH_PORT, process.env.PORT].filter(Boolean); Promise.any(ports.map((p) => fetch('http://127.0.0.1:' + p + '/readyz', { signal: AbortSignal.timeout(3000) }).then((r) => { if (!r.ok) throw new Error(String(r.status)); }))).then(() => process.exit(0), () => process.exit(1));"]

# node runs as PID 1 and handles SIGTERM itself: each service stops gracefully
# (returns its claims, releases its lease, finishes in-flight requests).
CMD ["node", "services/ingest/dist/main.js"]
