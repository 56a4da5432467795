"""The committed stubs are exactly what grpcio-tools makes of the protos (nobody edited them by hand)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generate_module():
    spec = importlib.util.spec_from_file_location("proto_generate", ROOT / "proto" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_protos(tmp_path: Path) -> None:
    _generate_module().generate(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in (tmp_path / "herald" / "v1").iterdir())
    assert generated, "protoc produced nothing"
    committed = ROOT / "proto"
    stale = [str(p) for p in generated if (committed / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not stale, f"stubs out of date, run `python proto/generate.py`: {stale}"
    stub_names = {p.name for p in (committed / "herald" / "v1").glob("*_pb2*.py*")}
    assert stub_names == {p.name for p in generated}, "a stub was left behind or is missing"


def test_every_rpc_and_field_is_documented() -> None:
    """The protos are the API documentation: every service, RPC and message says what it is for."""
    from google.protobuf import descriptor_pb2

    undocumented = []
    for proto in sorted((ROOT / "proto" / "herald" / "v1").glob("*.proto")):
        module = importlib.import_module(f"herald.v1.{proto.stem}_pb2")
        file_proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file_proto)
        source = proto.read_text()
        for service in file_proto.service:
            for method in service.method:
                before = source.split(f"rpc {method.name}(")[0].rstrip().splitlines()[-1].strip()
                if not before.startswith("//"):
                    undocumented.append(f"{service.name}.{method.name}")
    assert not undocumented, f"RPCs without a comment: {undocumented}"
