# Sourced by scripts/run and scripts/test: make sure .venv exists and holds this checkout's
# dependencies. Reinstalls only when pyproject.toml changed, so the second run starts at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.botengine-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)-${BOTENGINE_EXTRAS:-dev}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # pip's and setuptools' chatter goes to a log, shown only when the install fails
  echo "installing botengine and what it needs into .venv/ (a minute or two, once)…" >&2
  log=".venv/install.log"
  if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
         && .venv/bin/python -m pip install --quiet -e ".[${BOTENGINE_EXTRAS:-dev}]"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "the install failed (the log above is in $log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
