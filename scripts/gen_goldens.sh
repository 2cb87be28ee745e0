#!/usr/bin/env bash
# Regenerates the committed PyTorch goldens (tests/golden/*.safetensors).
# Developers only: CI reads the committed files and never needs PyTorch.
#   bash scripts/gen_goldens.sh            # every family
#   bash scripts/gen_goldens.sh binary nn  # some
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${EMBER_TORCH_VENV:-$HOME/.cache/ember/torch-venv}"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check torch numpy safetensors
fi
exec "$venv/bin/python" "$here/scripts/gen_goldens.py" "$@"
