#!/bin/sh
# The Redis stand-in's docker-entrypoint.sh, doing what the official image's does for this project's compose file:
# `redis-server …` started as root gets /data owned by redis and runs as redis; any other command runs as given.
set -e
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis:redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
