#!/usr/bin/env python3
"""Checks that an .emb written by unclip's Swift code loads in Python.

Fixtures/embeddings/swift-written.emb is the Swift writer's output
(EmbeddingInteropTests.testSwiftWrittenFixtureIsWhatTheWriterProduces keeps it
byte-identical to what the writer produces now). This script reads it twice:
with safetensors.numpy, and with nothing but json + numpy (so it also runs
where only numpy is installed), and compares with the values the Swift test
builds (EmbeddingInteropTests.swiftSample).

Run: python Fixtures/reference/check_swift_emb.py
Result when committed (Python 3.11.7, numpy 2.4.6, safetensors 0.8.0, 2026-12-01; format version 2):
  safetensors.numpy: ok (embedding float32 (16,), exemplar uint8 (4, 6, 3), latent float32 (2, 2, 3), 12 metadata keys)
  plain numpy: ok
  (also run with the system python3, numpy only: safetensors skipped, plain numpy ok)
"""
import json
import os
import struct
import sys

import numpy as np

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "embeddings", "swift-written.emb")


def expected():
    raw = np.arange(16, dtype=np.float32) - np.float32(7.5)
    norm = np.sqrt(np.sum(raw * raw, dtype=np.float32))
    emb = raw / norm
    exemplar = (np.arange(72) * 5 % 256).astype(np.uint8).reshape(4, 6, 3)
    latent = (np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1.5)).reshape(2, 2, 3)
    return emb, exemplar, latent, norm


def check(emb, exemplar, latent, meta):
    want_emb, want_ex, want_latent, want_norm = expected()
    assert emb.dtype == np.float32 and emb.shape == (16,), (emb.dtype, emb.shape)
    assert np.allclose(emb, want_emb, atol=1e-7), emb
    assert abs(float(np.linalg.norm(emb)) - 1) < 1e-6
    assert exemplar.dtype == np.uint8 and exemplar.shape == (4, 6, 3), (exemplar.dtype, exemplar.shape)
    assert np.array_equal(exemplar, want_ex)
    assert latent.dtype == np.float32 and latent.shape == (2, 2, 3) and np.array_equal(latent, want_latent), latent
    assert meta["format"] == "unclip.embedding" and meta["format_version"] == "2"
    assert np.float32(float(meta["norm"])) == want_norm, (meta["norm"], want_norm)
    assert np.allclose(emb * np.float32(float(meta["norm"])), np.arange(16, dtype=np.float32) - 7.5, atol=1e-5)
    assert meta["model"] == "swift-test" and meta["kind"] == "image" and meta["dim"] == "16"
    assert meta["seed"] == "9" and meta["command"] == "unclip encode swift.png"


def plain_numpy(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    base = 8 + n
    dtypes = {"F32": "<f4", "U8": "u1"}
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data, dtype=dtypes[t["dtype"]], count=(e - b) // np.dtype(dtypes[t["dtype"]]).itemsize,
                                  offset=base + b).reshape(t["shape"])
    assert base + max(t["data_offsets"][1] for t in header.values()) == len(data)
    return out["embedding"], out["exemplar"], out["latent"], meta


def main():
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        print("safetensors.numpy: not installed, skipped")
    else:
        tensors = load_file(PATH)
        with safe_open(PATH, framework="np") as f:
            meta = f.metadata()
        check(tensors["embedding"], tensors["exemplar"], tensors["latent"], meta)
        print(f"safetensors.numpy: ok (embedding {tensors['embedding'].dtype} {tensors['embedding'].shape}, "
              f"exemplar {tensors['exemplar'].dtype} {tensors['exemplar'].shape}, "
              f"latent {tensors['latent'].dtype} {tensors['latent'].shape}, {len(meta)} metadata keys)")
    check(*plain_numpy(PATH))
    print("plain numpy: ok")


if __name__ == "__main__":
    sys.exit(main())
