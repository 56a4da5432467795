"""Regenerates the Python gRPC stubs beside the protos; ``tests/test_protos.py`` checks they are current.

Run it after editing any ``.proto``: ``python proto/generate.py``. The stubs are committed so that an
install needs no protoc, and never edited by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent


def generate(out_dir: Path = PROTO_ROOT) -> None:
    """Compile every ``herald/v1/*.proto`` into ``out_dir/herald/v1/`` (``*_pb2.py``, ``.pyi``, ``_grpc``)."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "herald" / "v1").glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
