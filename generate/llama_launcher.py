"""Run llama-cpp-python's OpenAI-compatible server, optionally without weight repacking.

``python -m groundset.generate.llama_launcher [--no-repack] SERVER_ARGS...`` is
``python -m llama_cpp.server SERVER_ARGS...``, except that ``--no-repack`` turns off llama.cpp's
extra buffer types: their AMX kernels fault on virtual machines that do not grant AMX tile
state, and the server has no flag for it.
"""

from __future__ import annotations

import sys
from typing import Any


def _without_repacking() -> None:
    import llama_cpp
    import llama_cpp.llama

    default_params = llama_cpp.llama_model_default_params

    def params() -> Any:
        p = default_params()
        p.use_extra_bufts = False
        return p

    # llama.Llama reads the defaults through this module attribute when it loads a model.
    llama_cpp.llama.llama_cpp.llama_model_default_params = params


def main() -> None:
    """Start the server with the remaining command-line arguments."""
    if "--no-repack" in sys.argv:
        sys.argv.remove("--no-repack")
        _without_repacking()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
