# Shared by the benchmark scripts (source it).

APT_UPDATED=0
# need COMMAND DEBIAN_PACKAGE: install the package when the command is missing.
need() {
  command -v "$1" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { echo "$1 missing: apt-get install -y $2" >&2; exit 1; }
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  echo "installing $2 ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
