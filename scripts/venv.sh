# Sourced by scripts/start and scripts/test: create .venv, install a requirements file and
# BackBot itself (editable, so `.venv/bin/backbot` runs this checkout), skipping pip when
# nothing it reads has changed since the last successful install.
req="$1"
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed-$(basename "$req")"
want="$(cat requirements*.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing $req into .venv (about 80 s the first time)..."
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$want" > "$stamp"
fi
