"""Build script: the packages (generated gRPC stubs live beside their protos) and the optional Cython
extensions: the sender core, the import lines' direct path (compiled from its Python source) and the APNs
request framer.

The extensions are optional the way aiohttp's and multidict's are: when they cannot be compiled (no
compiler, ``HERALD_NO_EXTENSIONS=1``), Herald installs anyway and runs the pure-Python twins.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

NO_EXTENSIONS = os.environ.get("HERALD_NO_EXTENSIONS", "") not in ("", "0")


class OptionalBuildExt(build_ext):
    """Keep installing when the C compiler fails: the pure-Python twin behaves identically."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            print(
                f"herald: Cython core not built ({exc}); using the pure-Python sender core", file=sys.stderr
            )

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"herald: {ext.name} not built ({exc}); using the pure-Python twin", file=sys.stderr)


def extensions() -> list[Extension]:
    if NO_EXTENSIONS or not os.path.exists("sender_ext/_core.pyx"):
        return []
    from Cython.Build import cythonize

    return cythonize(
        # No FMA contraction: the core's floats must round exactly like the pure-Python twin's.
        [
            Extension(
                "sender_ext._core", ["sender_ext/_core.pyx"], extra_compile_args=["-O3", "-ffp-contract=off"]
            ),
            Extension(
                "kernel.profiles._line_direct_c",
                ["kernel/profiles/_line_direct_c.pyx"],
                extra_compile_args=["-O3", "-ffp-contract=off"],
            ),
            Extension("plugins.apns._framer", ["plugins/apns/_framer.pyx"], extra_compile_args=["-O3"]),
        ],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
        annotate=os.environ.get("HERALD_CYTHON_ANNOTATE") == "1",
    )


setup(
    packages=[*find_packages(include=["kernel*", "plugins*", "sender_ext*"]), "herald", "herald.v1"],
    package_dir={"herald": "proto/herald"},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
