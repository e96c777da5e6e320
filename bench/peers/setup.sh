#!/bin/sh
# Installs the peers of bench/peers/peers.py (JAX on the CPU, HIPS autograd,
# numpy) into bench/peers/.venv with pip. Idempotent: re-running it leaves an
# existing venv with the pinned versions as it is. Never a dependency of the
# library or of its tests.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
python=${PYTHON:-python3}

# What pip resolved for Python 3.11 on x86-64 Linux when this was written;
# change together. The transitive dependencies are pinned as well.
JAX_VERSION=0.10.2
JAXLIB_VERSION=0.10.2
AUTOGRAD_VERSION=1.9.1
NUMPY_VERSION=2.4.6

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if "$venv/bin/python" - "$JAX_VERSION" "$JAXLIB_VERSION" "$AUTOGRAD_VERSION" "$NUMPY_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = dict(zip(("jax", "jaxlib", "autograd", "numpy"), sys.argv[1:]))
sys.exit(0 if all(version(k) == v for k, v in want.items()) else 1)
PY
then
  echo "setup.sh: $venv already has jax $JAX_VERSION, jaxlib $JAXLIB_VERSION, autograd $AUTOGRAD_VERSION, numpy $NUMPY_VERSION"
  exit 0
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
  "numpy==$NUMPY_VERSION" "jax[cpu]==$JAX_VERSION" "jaxlib==$JAXLIB_VERSION" "autograd==$AUTOGRAD_VERSION" \
  ml_dtypes==0.6.0 opt_einsum==3.4.0 scipy==1.17.1
"$venv/bin/python" -c 'import jax, jaxlib, autograd, numpy; print("setup.sh: installed jax", jax.__version__, "jaxlib", jaxlib.__version__, "numpy", numpy.__version__)'
