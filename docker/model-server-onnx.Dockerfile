# syntax=docker/dockerfile:1
#
# The K-Fashion model server on the onnx engine (`kfashion model-server --engine onnx`, port 4100): inference
# and batch prediction on ONNX Runtime's CUDA 12 execution provider. It takes prediction jobs only
# (`--queues prediction`): training runs on TensorFlow.js, whose GPU build needs the CUDA 11 image
# (model-server.Dockerfile), so a deployment keeps at least one of those for training.
# Build from the repository root:
#   docker build -f docker/model-server-onnx.Dockerfile -t kfashion-model-server-onnx .
#
# onnxruntime-node 1.30's CUDA provider is built for CUDA 12.x and cuDNN 9.x (any 12.x minor version by CUDA's
# minor version compatibility; cuDNN 8 does not load it). Its install script downloads the provider libraries
# (Microsoft.ML.OnnxRuntime.Gpu.Linux from NuGet) at image build time: ONNXRUNTIME_NODE_INSTALL=cuda12. npm never
# runs that script (package.json's allowScripts says false: offline it fails and npm drops the package), so it is
# run here by hand.
#
# CUDA_IMAGE is nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 (cuDNN 9) pinned by digest, so that a rebuild gets
# the same CUDA and cuDNN. The digest was not pulled from here (no registry access on the build machine): it is
# the one several independent public Dockerfiles pin for this tag (found with a code search, December 2026).
# Check it before a release with `docker buildx imagetools inspect nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04`;
# the `dependencies` stage fails the build unless the image carries cuDNN 9.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim
# nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04@sha256:5f0d2d827f6436b3cb7468fd8acbdc8c1d41261614e579ae49afe6141da51133

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

# Production dependencies on the CUDA 12 base, with onnxruntime-node's CUDA provider download.
FROM ${CUDA_IMAGE} AS dependencies
ENV DEBIAN_FRONTEND=noninteractive
RUN dpkg-query --showformat='${Version}' --show libcudnn9-cuda-12 | grep -q '^9\.' \
 || { echo "expected cuDNN 9 for CUDA 12 in CUDA_IMAGE (package libcudnn9-cuda-12): pin the digest of such a push" >&2; exit 1; }
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && (cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install) \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && npm cache clean --force

FROM ${CUDA_IMAGE} AS runtime
# The tfjs side only resizes and normalises the images before the ONNX graph: wasm does it on the CPU.
ENV NODE_ENV=production \
    PORT=4100 \
    KFASHION_ENGINE=onnx \
    KFASHION_TF_BACKEND=wasm \
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
# /health carries the doctor's backend summary (`kfashion doctor` for the full report, with the ONNX Runtime
# provider and its probe graph): healthy when the server answers with status ok.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4100) + '/health').then((r) => r.json()).then((h) => process.exit(h.status === 'ok' ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/kfashion.js"]
CMD ["model-server", "--engine", "onnx", "--queues", "prediction"]
