"""Local data loaders. Nothing is downloaded: the data must be on disk.

* Fashion-MNIST: the idx files of Debian's `dataset-fashion-mnist` package
  (`/usr/share/datasets/fashion-mnist/`), or any folder with the same four files.
* CIFAR-10: the "python version" folder `cifar-10-batches-py` (data_batch_1..5,
  test_batch) from https://www.cs.toronto.edu/~kriz/cifar.html, extracted locally.

Images come back as float32 in [0, 1], NHWC; labels as int32.
"""

from keras_fda.errors import KerasFDAError

import gzip
import os
import pickle
import struct

import numpy as np

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def read_idx(path):
    """Read one idx file (optionally gzipped) into a uint8 array of its stated shape."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise KerasFDAError(f"cannot read {path}: {error}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise KerasFDAError(f"{path} is not an idx file of unsigned bytes")
    rank = data[3]
    header = 4 + 4 * rank
    if len(data) < header:
        raise KerasFDAError(f"{path} is truncated (header)")
    shape = struct.unpack(f">{rank}I", data[4:header])
    count = int(np.prod(shape))
    if len(data) - header != count:
        raise KerasFDAError(
            f"{path} holds {len(data) - header} bytes of data, its header promises {count}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST as ((x_train, y_train), (x_test, y_test)); x is (N, 28, 28, 1) in [0, 1]."""
    data_dir = data_dir or FASHION_MNIST_DIR
    missing = [
        name
        for name in FASHION_MNIST_FILES.values()
        if not os.path.exists(os.path.join(data_dir, name))
    ]
    if missing:
        hint = (
            "install the Debian package dataset-fashion-mnist (apt-get install "
            "dataset-fashion-mnist)"
            if data_dir == FASHION_MNIST_DIR
            else "point --data-dir at a folder holding the four Fashion-MNIST idx files"
        )
        raise KerasFDAError(
            f"Fashion-MNIST not found in {data_dir} (missing {', '.join(missing)}): {hint}"
        )
    arrays = {
        key: read_idx(os.path.join(data_dir, name)) for key, name in FASHION_MNIST_FILES.items()
    }

    def images(key):
        return (arrays[key].astype(np.float32) / 255.0)[..., np.newaxis]

    def labels(key):
        return arrays[key].astype(np.int32)

    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise KerasFDAError(f"Fashion-MNIST {split} images and labels differ in count")
    return (images("train_images"), labels("train_labels")), (
        images("test_images"),
        labels("test_labels"),
    )


def load_cifar10(data_dir):
    """CIFAR-10 from a local `cifar-10-batches-py` folder; x is (N, 32, 32, 3) in [0, 1]."""
    hint = (
        "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
        "on a machine with internet access, extract it, and pass --data-dir "
        "path/to/cifar-10-batches-py"
    )
    if not data_dir:
        raise KerasFDAError(f"CIFAR-10 needs a local copy: {hint}")
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not os.path.exists(os.path.join(data_dir, n))]
    if missing:
        raise KerasFDAError(
            f"CIFAR-10 not found in {data_dir} (missing {', '.join(missing)}): {hint}"
        )

    def batch(name):
        path = os.path.join(data_dir, name)
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="bytes")
            data = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(entry[b"labels"], dtype=np.int32)
        except Exception as error:  # a damaged pickle can raise almost anything
            raise KerasFDAError(f"{path} is not a CIFAR-10 batch ({error})") from None
        return data.transpose(0, 2, 3, 1).astype(np.float32) / 255.0, labels

    train = [batch(n) for n in names[:5]]
    x_test, y_test = batch("test_batch")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)


def load(name, data_dir=None):
    """Load a data set by name: `fashion-mnist` or `cifar10`."""
    if name in ("fashion-mnist", "fashion_mnist"):
        return load_fashion_mnist(data_dir)
    if name in ("cifar10", "cifar-10"):
        return load_cifar10(data_dir)
    raise KerasFDAError(f"unknown dataset {name!r}: choose fashion-mnist or cifar10")
