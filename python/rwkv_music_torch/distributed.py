"""torchrun / DistributedDataParallel plumbing: one process per device, gloo on CPU, NCCL on GPU."""
import os

import torch
import torch.distributed as dist


class Dist:
    def __init__(self, device_arg):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        want_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
        if want_cuda and not torch.cuda.is_available():
            raise RuntimeError("--device cuda: no CUDA device is available")
        if want_cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        self.active = self.world > 1
        if self.active:
            dist.init_process_group(backend="nccl" if want_cuda else "gloo")

    @property
    def main(self):
        return self.rank == 0

    def all_sum(self, values):
        """Sums a list of floats over the processes (float64)."""
        t = torch.tensor(values, dtype=torch.float64)
        if self.active:
            if self.device.type == "cuda":
                t = t.to(self.device)
            dist.all_reduce(t)
        return t.cpu().tolist()

    def all_max(self, values):
        t = torch.tensor(values, dtype=torch.float64)
        if self.active:
            if self.device.type == "cuda":
                t = t.to(self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.cpu().tolist()

    def barrier(self):
        if self.active:
            dist.barrier()

    def close(self):
        if self.active and dist.is_initialized():
            dist.destroy_process_group()
