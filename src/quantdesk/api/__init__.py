"""The REST API (FastAPI): parses, authenticates, calls one service, renders."""

import os

# One BLAS thread per request thread: the server already runs requests in parallel, and
# BLAS's own threads on top of them fight for the cores (a 200-asset Cholesky went from
# 0.2 ms to 160 ms under load). Set before numpy loads; an explicit setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
