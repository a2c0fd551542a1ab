# syntax=docker/dockerfile:1
# Written by `ringserve dockerfile` (ringserve @VERSION@): an image that serves this folder from
# /mnt/models. Build it with `ringserve build`, `DOCKER_BUILDKIT=1 docker build .` or
# `podman build --format docker .`. The folder's settings.json becomes the image's ENV defaults,
# which RINGSERVE_* / MLSERVER_* variables given to the container override.
ARG BASE_IMAGE=localhost/debian:12-local

# --- ringserve: a plain Debian 12 base, given the installation that wrote this file (staged in
# .ringserve/ beside it), its runtime packages, the non-root user and the folders a server writes to.
FROM ${BASE_IMAGE} AS ringserve
USER 0
COPY .ringserve/ /opt/ringserve/
RUN /opt/ringserve/share/ringserve/image-setup.sh

# --- models: the folder as the image serves it, without the files that only build the image
FROM ringserve AS models
USER 0
COPY . /models/
RUN rm -rf /models/.ringserve /models/Dockerfile /models/.dockerignore /models/settings.json

# --- the image: runs as user 1000 (or any UID with group 0), serves /mnt/models
FROM ringserve
USER 0
# The libraries of the built-in Python runtimes the folder's models name (mlserver_sklearn, mlserver_xgboost), from Debian.
RUN /opt/ringserve/share/ringserve/apt-install.sh \
    /opt/ringserve/share/ringserve/python-sklearn-packages.txt \
    /opt/ringserve/share/ringserve/python-xgboost-packages.txt
COPY --from=models /models/ /mnt/models/
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
