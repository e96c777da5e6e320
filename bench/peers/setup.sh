#!/bin/sh
# Installs the peers of bench/peers/peers.py (JAX on the CPU, HIPS autograd,
# numpy) and of bench/peers/optuna.py (Optuna) into bench/peers/.venv with
# pip. `setup.sh optuna` installs only what optuna.py needs. Idempotent:
# re-running it leaves an existing venv with the pinned versions as it is.
# Never a dependency of the library or of its tests.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
python=${PYTHON:-python3}
only=${1:-all}
case "$only" in
  all|optuna) ;;
  *) echo "usage: setup.sh [optuna]   (no argument: every peer)" >&2; exit 2 ;;
esac

# What pip resolved for Python 3.11 on x86-64 Linux when this was written;
# change together. The transitive dependencies are pinned as well.
JAX_VERSION=0.10.2
JAXLIB_VERSION=0.10.2
AUTOGRAD_VERSION=1.9.1
NUMPY_VERSION=2.4.6
OPTUNA_VERSION=5.1.0
OPTUNA_DEPENDENCIES="alembic==1.20.1 colorlog==6.12.0 Mako==1.4.3 MarkupSafe==3.0.4 packaging==26.4 PyYAML==6.0.4
SQLAlchemy==2.1.9 tqdm==4.70.1 typing_extensions==4.16.0"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if "$venv/bin/python" - "$only" "$JAX_VERSION" "$JAXLIB_VERSION" "$AUTOGRAD_VERSION" "$NUMPY_VERSION" \
     "$OPTUNA_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
only, jax, jaxlib, autograd, numpy, optuna = sys.argv[1:]
want = {"numpy": numpy, "optuna": optuna}
if only == "all":
    want.update(jax=jax, jaxlib=jaxlib, autograd=autograd)
sys.exit(0 if all(version(k) == v for k, v in want.items()) else 1)
PY
then
  echo "setup.sh: $venv already has the pinned versions ($only)"
  exit 0
fi
# shellcheck disable=SC2086  # the dependency list is split on purpose
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
  "numpy==$NUMPY_VERSION" "optuna==$OPTUNA_VERSION" $OPTUNA_DEPENDENCIES
"$venv/bin/python" -c 'import optuna, numpy; print("setup.sh: installed optuna", optuna.__version__, "numpy", numpy.__version__)'
[ "$only" = optuna ] && exit 0
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
  "numpy==$NUMPY_VERSION" "jax[cpu]==$JAX_VERSION" "jaxlib==$JAXLIB_VERSION" "autograd==$AUTOGRAD_VERSION" \
  ml_dtypes==0.6.0 opt_einsum==3.4.0 scipy==1.17.1
"$venv/bin/python" -c 'import jax, jaxlib, autograd, numpy; print("setup.sh: installed jax", jax.__version__, "jaxlib", jaxlib.__version__, "numpy", numpy.__version__)'
