"""PyTorch trainer for rwkv-music models: the same RWKV-4 and LSTM, datasets, metric and files as the
TypeScript toolkit, trained with torchrun / DistributedDataParallel. See python/README.md."""

__version__ = "0.1.0"
