# syntax=docker/dockerfile:1
#
# The K-Fashion model server (`kfashion model-server`, port 4100): inference over HTTP and training /
# batch-prediction jobs from the PostgreSQL queue, on CUDA through @tensorflow/tfjs-node-gpu.
# Build from the repository root:
#   docker build -f docker/model-server.Dockerfile -t kfashion-model-server .
#
# tfjs-node-gpu 4.22 binds libtensorflow 2.9.1, built for CUDA 11.2 / cuDNN 8.1 with kernels for
# sm_35–sm_75 plus compute_80 PTX. TensorFlow 2.9 loads any CUDA 11.x / cuDNN 8.x under the same
# sonames (libcudart.so.11.0, libcudnn.so.8, …), so the base is CUDA 11.8 + cuDNN 8.9: the CUDA 11
# release that knows Hopper (sm_90) and Ada (sm_89), which cuDNN 8.1 predates. Its install script downloads libtensorflow (GPU) at image build time. Node 24
# is the official release binary, copied from the pinned official Node image (which verifies the
# release tarball's signature); its glibc 2.28 baseline runs on Ubuntu 22.04 (glibc 2.35).
#
# CUDA_IMAGE is nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 pinned by digest, so that a rebuild gets
# the same CUDA and cuDNN even after NVIDIA re-pushes the tag or deletes it (as it does for end-of-life
# CUDA releases). The digest was not pulled from here (no registry access on the build machine): it is
# the one several independent public Dockerfiles and build records pin for this tag (found with a code
# search, December 2026). Check it before a release with
# `docker buildx imagetools inspect nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04`; the `dependencies`
# stage fails the build unless the image carries cuDNN 8.9 (early pushes of the tag had 8.6).

ARG NODE_IMAGE=node:24.21.0-bookworm-slim
# nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04@sha256:85fb7ac694079fff1061a0140fd5b5a641997880e12112d92589c3bbb1e8b7ca

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
# The list of cards that run natively in docs/gpu-deployment.md assumes cuDNN 8.9 (Hopper and Ada support).
RUN dpkg-query --showformat='${Version}' --show libcudnn8 | grep -q '^8\.9\.' \
 || { echo "expected cuDNN 8.9 in CUDA_IMAGE, found libcudnn8 $(dpkg-query --showformat='${Version}' --show libcudnn8): pin the digest of a push with cuDNN 8.9" >&2; exit 1; }
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
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    CUDA_CACHE_PATH=/var/lib/kfashion/cuda-cache \
    CUDA_CACHE_MAXSIZE=4294967296
# Why those three: TensorFlow otherwise reserves all GPU memory at start-up, leaving none to a second
# process on the card; and on a GPU newer than the kernels (H100/H200, sm_90) the driver JIT-compiles
# libtensorflow's compute_80 PTX at first start (tens of minutes): CUDA_CACHE_PATH keeps the result on
# the persistent volume, shared by every replica, so it is paid once per host and driver version,
# and CUDA_CACHE_MAXSIZE (4 GiB, CUDA 11's maximum; the default 256 MiB cannot hold it) keeps it whole.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# uid/gid 1000 as the API image's `node` user: both write the shared /var/lib/kfashion volume
RUN groupadd --gid 1000 kfashion \
 && useradd --uid 1000 --gid kfashion --home-dir /var/lib/kfashion --shell /usr/sbin/nologin kfashion \
 && mkdir -p /var/lib/kfashion/checkpoints /var/lib/kfashion/cuda-cache \
 && chown -R kfashion:kfashion /var/lib/kfashion
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
USER kfashion
EXPOSE 4100
VOLUME ["/var/lib/kfashion"]
# /health carries the doctor's backend summary (`kfashion doctor` for the full report): healthy when
# the server answers with status ok. The start period covers the first start on a Hopper GPU, whose
# PTX JIT can take 30 minutes or more; later starts read the JIT cache.
HEALTHCHECK --interval=30s --timeout=10s --start-period=45m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4100) + '/health').then((r) => r.json()).then((h) => process.exit(h.status === 'ok' ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/kfashion.js"]
CMD ["model-server"]
