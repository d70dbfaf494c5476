#!/usr/bin/env bash
# Makes rootful podman usable in a sandbox where its defaults fail: the runc runtime (crun fails), the cgroupfs cgroup
# manager (there is no systemd), a file events log (no journald), and explicit ulimits no higher than this machine's
# hard limits (a container asking for more does not start). Writes /etc/containers/containers.conf, marked as ours; a
# containers.conf someone else wrote is left alone. Exits non-zero, saying why, when podman is missing or broken.
set -euo pipefail

CONF=/etc/containers/containers.conf
MARK='# written by latentflow infra/smoke/podman-setup.sh'

command -v podman >/dev/null || { echo "podman setup: podman is not installed (apt-get install -y podman)" >&2; exit 1; }

if [ ! -e "$CONF" ] || head -1 "$CONF" | grep -qxF "$MARK"; then
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=65536
  # nproc at the hard limit fails in this sandbox (user namespaces count every container's processes): 4096 is plenty.
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ]; then nproc=4096; fi
  if [ -w "$(dirname "$CONF")" ]; then
    cat >"$CONF" <<EOF
$MARK
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  fi
fi

if ! out=$(podman info 2>&1 >/dev/null); then
  echo "podman setup: podman does not work here: $out" >&2
  exit 1
fi
