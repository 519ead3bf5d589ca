# syntax=docker/dockerfile:1
#
# The K-Fashion GraphQL API (`kfashion serve`, port 4000). Build from the repository root:
#   docker build -f docker/api.Dockerfile -t kfashion-api .
#
# Two stages: the build needs the dev dependencies (tsc, vite); the runtime image has only the
# production ones. Install scripts are skipped in the runtime stage: the API never computes on the
# GPU (the model server does), so @tensorflow/tfjs-node(-gpu) need not download libtensorflow here;
# sharp's prebuilt binary comes from its platform package and needs no script.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY src ./src
COPY web ./web
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# Reads need a token too (KFASHION_PUBLIC_READ=1 opens them to anonymous callers; writes never).
ENV NODE_ENV=production \
    PORT=4000 \
    KFASHION_DATA_DIR=/var/lib/kfashion \
    KFASHION_PUBLIC_READ=0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /var/lib/kfashion/uploads \
 && chown -R node:node /var/lib/kfashion
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 4000
VOLUME ["/var/lib/kfashion"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/kfashion.js"]
CMD ["serve"]
