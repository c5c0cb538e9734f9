"""`python3 -m rwkv_music_torch.torchrun ...` is torchrun (torch.distributed.run) with one fix: with
PyTorch older than 2.0 under Python 3.11 (Debian 12's python3-torch 1.13), torchrun's parsing of its
--redirects/--tee defaults returns None, because Python 3.11 no longer lists the zero member of an
IntFlag when iterating it, and every launch fails with "'NoneType' object has no attribute 'get'"
(meta-llama/llama issue 86 shows the same failure). The arguments are torchrun's, unchanged; with a
current PyTorch, plain `torchrun` does the same."""
import re
import sys

from torch.distributed.elastic.multiprocessing import api


def _patch():
    std = api.Std
    if std.from_str("0") is not None:
        return
    original = std.from_str.__func__

    def from_str(cls, vm):
        if re.match(r"^[0123]$", vm):
            return std(int(vm))
        if re.match(r"^(\d:[0123],)*(\d:[0123])$", vm):
            return {int(i): std(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
        return original(cls, vm)

    std.from_str = classmethod(from_str)


def main():
    _patch()
    from torch.distributed.run import main as torchrun_main
    sys.argv[0] = "torchrun"
    torchrun_main()


if __name__ == "__main__":
    main()
