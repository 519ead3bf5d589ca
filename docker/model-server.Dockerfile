# syntax=docker/dockerfile:1
#
# The K-Fashion model server (`kfashion model-server`, port 4100): inference over HTTP and training /
# batch-prediction jobs from the PostgreSQL queue, on CUDA through @tensorflow/tfjs-node-gpu.
# Build from the repository root:
#   docker build -f docker/model-server.Dockerfile -t kfashion-model-server .
#
# tfjs-node-gpu 4.22 binds libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1: hence the
# nvidia/cuda 11.2.2 + cuDNN 8 runtime base. Its install script downloads libtensorflow (GPU) at image
# build time. Node 20 is the official release binary, copied from the pinned official Node image
# (which verifies the release tarball's signature); its glibc 2.28 baseline runs on Ubuntu 20.04.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

FROM ${NODE_IMAGE} AS node

# TypeScript build (dev dependencies), as in api.Dockerfile.
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

# Production dependencies on the CUDA base, with the libtensorflow download of tfjs-node-gpu (and the
# compilers its binding falls back to when no prebuilt binding fits).
FROM ${CUDA_IMAGE} AS dependencies
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node-gpu \
 && test -n "$(find node_modules/@tensorflow/tfjs-node-gpu/lib -name tfjs_binding.node)" \
 && npm cache clean --force

FROM ${CUDA_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=4100 \
    KFASHION_TF_BACKEND=tensorflow \
    KFASHION_DATA_DIR=/var/lib/kfashion \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# uid/gid 1000 as the API image's `node` user: both write the shared /var/lib/kfashion volume
RUN groupadd --gid 1000 kfashion \
 && useradd --uid 1000 --gid kfashion --home-dir /var/lib/kfashion --shell /usr/sbin/nologin kfashion \
 && mkdir -p /var/lib/kfashion/checkpoints \
 && chown -R kfashion:kfashion /var/lib/kfashion
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
USER kfashion
EXPOSE 4100
VOLUME ["/var/lib/kfashion"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4100) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/kfashion.js"]
CMD ["model-server"]
