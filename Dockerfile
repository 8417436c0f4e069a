# Webka broker image. Build from the repository root:
#   docker build -t webka .            (or: podman build -t webka .)
#   docker run -p 8080:8080 -p 9092:9092 -v webka-data:/data webka
# The build stage compiles the workspace and installs the packed packages exactly as
# `npm install webka` would (what packages/server/test/packaging/npm-pack.test.ts proves);
# the runtime stage holds Node, that installation and nothing of the build. See docs/deploy.md.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/client/package.json packages/client/
COPY packages/console/package.json packages/console/
COPY packages/server/package.json packages/server/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
RUN npm run build \
 && mkdir /packs \
 && for p in protocol client console server; do (cd packages/$p && npm pack --silent --pack-destination /packs); done \
 && mkdir /opt/webka && cd /opt/webka \
 && echo '{"name":"webka-image","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /packs/*.tgz

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WEBKA_HOST=0.0.0.0 \
    WEBKA_PORT=8080 \
    WEBKA_KAFKA_PORT=9092 \
    WEBKA_DATA_DIR=/data
COPY --from=build /opt/webka /opt/webka
# the image's `node` user (uid 1000) owns the data directory; nothing runs as root
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080 9092
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WEBKA_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/webka/node_modules/webka/bin/webka.js"]
CMD ["start"]
