"""Data loaders: the real Debian Fashion-MNIST files, the CIFAR-10 batch format on small
files written here, and clear errors when data is missing or damaged."""

from keras_fda import KerasFDAError, datasets

import gzip
import os
import pickle
import struct

import numpy as np
import pytest


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.skipif(
    not os.path.isdir(datasets.FASHION_MNIST_DIR),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_fashion_mnist_from_debian_package():
    (x, y), (xt, yt) = datasets.load_fashion_mnist()
    assert x.shape == (60000, 28, 28, 1) and xt.shape == (10000, 28, 28, 1)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(10)) and np.bincount(yt).tolist() == [1000] * 10


def test_fashion_mnist_from_a_data_dir(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = rng.integers(0, 10, size=5)
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", labels)
    (x, y), _ = datasets.load_fashion_mnist(str(tmp_path))
    np.testing.assert_allclose(x[..., 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_missing_and_damaged_files_give_clear_errors(tmp_path):
    with pytest.raises(KerasFDAError, match="Fashion-MNIST not found in .*--data-dir"):
        datasets.load_fashion_mnist(str(tmp_path))
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 100) + b"\x00" * 10)
    with pytest.raises(KerasFDAError, match="holds 10 bytes of data, its header promises 100"):
        datasets.read_idx(str(bad))
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an idx file")
    with pytest.raises(KerasFDAError, match="not an idx file"):
        datasets.read_idx(str(junk))


def test_cifar10_batches(tmp_path):
    rng = np.random.default_rng(1)
    planes = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        planes[name] = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": planes[name], b"labels": [1, 2, 3]}, f)
    (x, y), (xt, yt) = datasets.load_cifar10(str(tmp_path))
    assert x.shape == (15, 32, 32, 3) and xt.shape == (3, 32, 32, 3)
    # channel-planar rows (R plane, G plane, B plane) become NHWC
    first = planes["data_batch_1"][0]
    assert x[0, 0, 1, 0] == first[1] / np.float32(255)
    assert x[0, 0, 0, 2] == first[2048] / np.float32(255)
    assert yt.tolist() == [1, 2, 3]


def test_cifar10_missing_directory_is_one_clear_line(tmp_path):
    with pytest.raises(KerasFDAError) as error:
        datasets.load_cifar10(str(tmp_path / "nowhere"))
    message = str(error.value)
    assert "\n" not in message and "cifar-10-python.tar.gz" in message and "--data-dir" in message
    with pytest.raises(KerasFDAError, match="unknown dataset"):
        datasets.load("imagenet")
