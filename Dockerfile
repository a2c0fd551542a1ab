# syntax=docker/dockerfile:1
# The ringserve image: ringserve built from this repository on Debian 12, the base that
# `ringserve dockerfile` / `ringserve build` start from by default (as MLServer's generated files
# start from mlserver:<version>-slim). Tag it with the version `ringserve --version` prints:
#   DOCKER_BUILDKIT=1 docker build -t ringserve:0.1.0 .
#   podman build --format docker -t ringserve:0.1.0 .     (--format docker keeps the HEALTHCHECK)
# DEBIAN_IMAGE may name a local Debian 12 image (tools/debian-base.sh makes one without a registry).
ARG DEBIAN_IMAGE=debian:12-slim

# --- build: the -dev packages (tools/setup.sh's `build` and `python-host` groups: python3-dev
# builds the Python runtime host) and only the shipped targets
FROM ${DEBIAN_IMAGE} AS build
COPY tools/setup.sh /src/tools/setup.sh
RUN /src/tools/setup.sh build python-host
# Only what the shipped targets are built from (tests/supervisor/image checks this list against the
# top-level CMakeLists.txt), so editing docs or tests keeps the compile cached.
COPY CMakeLists.txt /src/
COPY schema /src/schema
COPY transport /src/transport
COPY protocol /src/protocol
COPY sdk /src/sdk
COPY worker /src/worker
COPY supervisor /src/supervisor
COPY clients /src/clients
COPY cli /src/cli
COPY runtimes /src/runtimes
COPY examples /src/examples
COPY python /src/python
# Any edit to those folders invalidates this layer, so the compiler cache lives in a build cache
# mount that outlives it (BuildKit's cache store; podman's is under $TMPDIR/buildah-cache, which
# the image tests point into the build tree): a rebuild recompiles only what changed.
RUN --mount=type=cache,id=ringserve-ccache,target=/root/.cache/ccache \
    cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/opt/ringserve \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DRINGSERVE_BUILD_TESTS=OFF -DRINGSERVE_BUILD_BENCH=OFF \
 && cmake --build /build \
 && ccache --show-stats \
 && cmake --install /build --strip

# --- the image: runtime libraries (supervisor/image/share/runtime-packages.txt), the binaries, the
# SDK and the built-in runtimes in /opt/ringserve, the Python host with libpython3.11, Python's
# standard library and numpy (python-runtime-packages.txt) and ringserve's Python packages in
# /opt/ringserve/lib/ringserve/python; user 1000, or any UID with group 0. scikit-learn and
# xgboost are not in it: `ringserve dockerfile` adds them for folders whose models use them. For
# an image that serves any such model (deploy/kserve's sklearn and xgboost formats), as MLServer's
# full image against its -slim one:
#   docker build --build-arg PYTHON_RUNTIMES="sklearn xgboost" -t ringserve:0.1.0-full .
FROM ${DEBIAN_IMAGE}
ARG PYTHON_RUNTIMES=
COPY --from=build /opt/ringserve /opt/ringserve
RUN /opt/ringserve/share/ringserve/image-setup.sh ${PYTHON_RUNTIMES}
ENV PATH=/opt/ringserve/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/home/ringserve \
    XDG_RUNTIME_DIR=/run/ringserve \
    MLSERVER_ENVIRONMENTS_DIR=/var/lib/ringserve/envs
WORKDIR /mnt/models
USER 1000
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/ringserve/share/ringserve/healthcheck.sh"]
CMD ["ringserve", "start", "/mnt/models"]
