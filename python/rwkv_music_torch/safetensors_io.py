"""safetensors files (the format of src/engine/safetensors.ts): an 8-byte little-endian header
length, a JSON header (padded with spaces to 8 bytes), then the tensors row-major, little-endian.
Model files carry metadata format = "rwkv-music" and config = the model config as JSON."""
import json
import os
import struct
import sys

import torch

from .errors import UserError

MODEL_FORMAT = "rwkv-music"
_DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2)}


def encode(tensors, metadata=None):
    """tensors: list of (name, float tensor); stored as F32 in the given order."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors: big-endian platforms are not supported")
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name, t in tensors:
        data = t.detach().to("cpu", torch.float32).contiguous()
        n = data.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(data.shape), "data_offsets": [offset, offset + n]}
        offset += n
        blobs.append(data.numpy().tobytes())
    text = json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def decode(data, source):
    """Returns (dict name -> float32 tensor, metadata dict); any damage is a UserError naming `source`."""
    def fail(why):
        raise UserError(f"{source}: not a valid safetensors file ({why})")
    if len(data) < 8:
        fail(f"only {len(data)} bytes, shorter than the 8-byte header length")
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        fail(f"header length {hlen} runs past the end of the {len(data)}-byte file")
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail(f"header is not valid UTF-8 JSON: {e}")
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    start = 8 + hlen
    size = len(data) - start
    out = {}
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or info.get("dtype") not in _DTYPES:
            fail(f'tensor "{name}" has dtype {json.dumps(info.get("dtype") if isinstance(info, dict) else None)}; only F32 and F16 are supported')
        dtype, width = _DTYPES[info["dtype"]]
        shape = info.get("shape")
        begin, end = info.get("data_offsets", [0, -1])
        n = 1
        for d in shape:
            n *= d
        if end > size or end - begin != n * width or begin < 0:
            fail(f'tensor "{name}" has shape {shape} but data_offsets {info.get("data_offsets")}')
        spans.append((begin, end, name))
        buf = bytearray(data[start + begin:start + end])
        t = torch.frombuffer(buf, dtype=dtype) if n > 0 else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(shape).to(torch.float32).clone()
    spans.sort()
    expected = 0
    for begin, end, name in spans:
        if begin != expected:
            fail(f'tensor "{name}" overlaps another tensor or leaves a gap')
        expected = end
    if expected != size:
        fail(f"{size - expected} bytes of data not covered by any tensor")
    return out, metadata


def write_atomic(path, data):
    """Writes bytes to a temporary file next to `path`, then renames it over `path`."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_file(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UserError(f"{path}: cannot read the model file ({e.strerror})")
    return decode(data, path)


def model_file_bytes(named_params, config):
    return encode(named_params, {"format": MODEL_FORMAT, "config": json.dumps(config, separators=(",", ":"))})


def read_model_file(path):
    """(validated model config, tensors) from a model file written by either side."""
    from .config import validate_model_config
    tensors, metadata = read_file(path)
    if metadata.get("format") != MODEL_FORMAT:
        raise UserError(f"{path}: not an {MODEL_FORMAT} model file (metadata format is {json.dumps(metadata.get('format'))})")
    if "config" not in metadata:
        raise UserError(f"{path}: the model file has no config in its metadata")
    try:
        raw = json.loads(metadata["config"])
    except ValueError:
        raise UserError(f"{path}: the model config in the metadata is not valid JSON")
    try:
        config = validate_model_config(raw)
    except UserError as e:
        raise UserError(f"{path}: {e}")
    return config, tensors
