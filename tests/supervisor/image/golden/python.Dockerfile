# syntax=docker/dockerfile:1
# Written by `ringserve dockerfile` (ringserve @VERSION@): an image that serves this folder from
# /mnt/models. Build it with `ringserve build`, `DOCKER_BUILDKIT=1 docker build .` or
# `podman build --format docker .`. The folder's settings.json becomes the image's ENV defaults,
# which RINGSERVE_* / MLSERVER_* variables given to the container override.
ARG BASE_IMAGE=ringserve:@VERSION@

# --- ringserve: the base image as it is (ringserve in /opt/ringserve, runtime packages, user 1000)
FROM ${BASE_IMAGE} AS ringserve

# --- models: the folder as the image serves it, without the files that only build the image
FROM ringserve AS models
USER 0
COPY . /models/
RUN rm -rf /models/.ringserve /models/Dockerfile /models/.dockerignore /models/settings.json

# --- the image: runs as user 1000 (or any UID with group 0), serves /mnt/models
FROM ringserve
USER 0
# The libraries of the built-in Python runtimes the folder's models name (mlserver_sklearn), from Debian.
RUN /opt/ringserve/share/ringserve/apt-install.sh \
    /opt/ringserve/share/ringserve/python-sklearn-packages.txt
# The folder's requirements.txt, into the image's Python (pip needs a reachable package index).
COPY requirements.txt /tmp/ringserve-image/requirements.txt
RUN /opt/ringserve/share/ringserve/pip-install.sh /tmp/ringserve-image/requirements.txt
# The folder's conda-style environment, installed with pip (images have no conda).
COPY environment.yaml /tmp/ringserve-image/environment.yaml
RUN /opt/ringserve/share/ringserve/pip-install.sh --conda /tmp/ringserve-image/environment.yaml
COPY --from=models /models/ /mnt/models/
ENV PATH=/opt/ringserve/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/home/ringserve \
    XDG_RUNTIME_DIR=/run/ringserve \
    MLSERVER_ENVIRONMENTS_DIR=/var/lib/ringserve/envs
# The folder's settings.json as defaults that `-e RINGSERVE_...` / `-e MLSERVER_...` override (a field
# in a settings.json wins over the environment, so the file itself stays out of the image).
ENV MLSERVER_SERVER_NAME="iris \"server\" \$HOME" \
    MLSERVER_PARALLEL_WORKERS="2" \
    MLSERVER_DEBUG="false" \
    MLSERVER_METRICS_ENDPOINT="null" \
    MLSERVER_EXTENSIONS="[\"model_repository\"]"
WORKDIR /mnt/models
USER 1000
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/ringserve/share/ringserve/healthcheck.sh"]
CMD ["ringserve", "start", "/mnt/models"]
