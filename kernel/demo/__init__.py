"""``herald demo``: Herald's engagement features end to end in one command, on a sandboxed kernel of its
own (see :mod:`kernel.demo.run`)."""

from kernel.demo.run import run_demo
from kernel.demo.tour import DemoFailed, TourOptions

__all__ = ["DemoFailed", "TourOptions", "run_demo"]
