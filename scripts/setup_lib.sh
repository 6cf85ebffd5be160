# Helpers shared by the fragments in scripts/setup.d/ (sourced, not run).

_vqct_apt_updated=0
# apt_install PKG...: install Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "[setup] need root to install: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  if [ "$_vqct_apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null
    _vqct_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# pip_install_once IMPORT_NAME PIP_ARGS...: pip install unless importable.
pip_install_once() {
  local module=$1; shift
  "$VQCT_PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module') is None)" \
    2>/dev/null && return 0
  "$VQCT_PIP" install -q "$@"
}
