"""Test-session settings shared by tests/ and the doctests under src/.

Two pytest workers on a 2-core machine: one BLAS/OpenMP thread each, or they fight over the cores.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
