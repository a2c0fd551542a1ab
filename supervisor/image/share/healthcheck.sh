#!/bin/bash
# The image's HEALTHCHECK: GET /v2/health/ready on the server's HTTP port must answer 200.
# Uses bash's /dev/tcp so the image needs no HTTP client. The port is RINGSERVE_HTTP_PORT or
# MLSERVER_HTTP_PORT when set, else 8080 (`ringserve dockerfile` turns a settings.json http_port into
# MLSERVER_HTTP_PORT, so a folder's own port is seen too).
port=${RINGSERVE_HTTP_PORT:-${MLSERVER_HTTP_PORT:-8080}}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /v2/health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 _ status _ <&3 || exit 1
[[ $status == 200 ]]
