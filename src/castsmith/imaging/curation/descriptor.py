"""dlib's ResNet face descriptor, computed with NumPy from dlib's own model file.

Why not dlib's ``compute_face_descriptor``: ``dlib-bin`` is built without BLAS, so its
forward pass of the ResNet (29 convolutions on a 150x150 face chip) takes 100-135 ms of
CPU, most of a photograph's checks. The same network with the same weights, read from
``dlib_face_recognition_resnet_model_v1.dat`` and computed with NumPy's matrix product
(NumPy links OpenBLAS), takes about 20 ms and gives the same descriptor: the components
differ by at most ~3e-7, far below the 6 decimals that are stored.

The architecture is the one dlib's ``dnn_face_recognition_ex.cpp`` declares: a 7x7/2
convolution, 3x3/2 max pooling, residual stages of 32, 64, 128, 256 and 256 filters (the
first block of the last four halves the size; its shortcut is a 2x2 average pooling,
added with zero padding where channels or sizes differ, as dlib's ``add_prev`` does),
an average over the whole map and a 256x128 fully connected layer. Each convolution is
followed by an affine layer (dlib's trained batch normalisation), folded into the
convolution here. :func:`load_descriptor` checks every layer's shape against that
architecture; the caller also compares the result with dlib's on a test chip once per
process and keeps dlib's encoder if they differ (another model file or dlib release).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

#: The side of the aligned face chip the network reads (dlib's ``get_face_chip``).
CHIP_SIDE: Final = 150
#: dlib's chip padding for the descriptor (``compute_face_descriptor``'s default).
CHIP_PADDING: Final = 0.25
#: (filters, blocks, whether the first block halves the size) per residual stage.
_STAGES: Final = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))
#: A layer's name is serialised as a length (dlib's packed int) and its characters.
_NAMES: Final = re.compile(
    rb"\x01\x05con_4|\x01\x07affine_|\x01\x04fc_2|\x01\x15input_rgb_image_sized"
)

Floats = NDArray[np.float32]


class ModelFormatError(ValueError):
    """The model file does not hold the network this module computes."""


@dataclass(frozen=True, slots=True)
class _Conv:
    weights: Floats  # (filters, channels * size * size), the affine layer folded in
    bias: Floats  # (filters, 1)
    size: int
    stride: int
    padding: int


class _Reader:
    """Reads dlib's serialisation: packed ints, mantissa/exponent floats, tensors."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at = data, at

    def packed_int(self) -> int:
        head = self.data[self.at]
        count = head & 0x0F  # the low bits: byte count; 0x80: negative
        value = int.from_bytes(self.data[self.at + 1 : self.at + 1 + count], "little")
        self.at += 1 + count
        return -value if head & 0x80 else value

    def packed_float(self) -> float:
        mantissa = self.packed_int()
        return float(mantissa * 2.0 ** self.packed_int())

    def shape(self) -> tuple[int, ...]:
        self.packed_int()  # the version
        return tuple(self.packed_int() for _ in range(4))

    def tensor(self) -> Floats:
        # Version 2 tensors store raw little-endian float32 after the shape.
        count = int(np.prod(self.shape()))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.at)
        self.at += 4 * count
        return values.astype(np.float32)


def _expected_convs() -> list[tuple[int, int, int, int, int]]:
    """(filters, channels, size, stride, padding) of every convolution, in order."""
    specs = [(32, 3, 7, 2, 0)]
    channels = 32
    for filters, blocks, down in _STAGES:
        for block in range(blocks):
            stride, padding = (2, 0) if down and block == 0 else (1, 1)
            specs += [(filters, channels, 3, stride, padding), (filters, filters, 3, 1, 1)]
            channels = filters
    return specs


class Descriptor:
    """The 128-d face descriptor of an aligned 150x150 RGB chip."""

    def __init__(self, mean: Floats, convs: list[_Conv], fc: Floats) -> None:
        self._mean, self._convs, self._fc = mean, convs, fc

    def __call__(self, chip: NDArray[np.uint8]) -> Floats:
        """The descriptor of ``chip`` (150x150x3, RGB, as ``dlib.get_face_chip`` gives)."""
        # dlib's input layer: subtract the mean colour, divide by 256; channels first.
        x = ((chip.astype(np.float32) - self._mean) / np.float32(256)).transpose(2, 0, 1)
        layers = iter(self._convs)
        x = _max_pool(_conv(x, next(layers), relu=True))
        for _, blocks, down in _STAGES:
            for block in range(blocks):
                y = _conv(_conv(x, next(layers), relu=True), next(layers), relu=False)
                x = _add(_avg_pool(x), y) if down and block == 0 else x + y
                np.maximum(x, 0, out=x)
        out: Floats = x.mean(axis=(1, 2)) @ self._fc
        return out


def _conv(x: Floats, layer: _Conv, *, relu: bool) -> Floats:
    """A convolution as one matrix product over the image's patches (im2col)."""
    if layer.padding:
        pad = layer.padding
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    size, stride = layer.size, layer.stride
    windows = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    channels, rows, cols = windows.shape[:3]
    patches = windows.transpose(0, 3, 4, 1, 2).reshape(channels * size * size, rows * cols)
    y: Floats = (layer.weights @ patches + layer.bias).reshape(-1, rows, cols)
    return np.maximum(y, 0, out=y) if relu else y


def _max_pool(x: Floats) -> Floats:
    """3x3 max pooling with stride 2 and no padding."""
    pooled: Floats = sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(3, 4))
    return pooled


def _avg_pool(x: Floats) -> Floats:
    """2x2 average pooling with stride 2 and no padding (an odd last row is dropped)."""
    rows, cols = (x.shape[1] - 2) // 2 + 1, (x.shape[2] - 2) // 2 + 1
    r, c = 2 * rows, 2 * cols
    total = x[:, 0:r:2, 0:c:2] + x[:, 1:r:2, 0:c:2] + x[:, 0:r:2, 1:c:2] + x[:, 1:r:2, 1:c:2]
    pooled: Floats = total * np.float32(0.25)
    return pooled


def _add(a: Floats, b: Floats) -> Floats:
    """dlib's ``add_prev``: the sum over the larger shape, missing parts counting as 0."""
    shape = tuple(max(i, j) for i, j in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out


def load_descriptor(path: Path) -> Descriptor:
    """Read the network from dlib's model file; :class:`ModelFormatError` if its layers
    are not the expected architecture."""
    data = path.read_bytes()
    mean: Floats | None = None
    raw: list[tuple[Floats, tuple[int, ...]]] = []
    affines: list[Floats] = []
    fc: Floats | None = None
    for found in _NAMES.finditer(data):
        read = _Reader(data, found.end())
        name = found.group()[2:]
        if name == b"input_rgb_image_sized":
            mean = np.array(
                [read.packed_float(), read.packed_float(), read.packed_float()], dtype=np.float32
            )
        elif name == b"con_4":
            params = read.tensor()
            raw.append((params, tuple(read.packed_int() for _ in range(7))))
        elif name == b"affine_":
            affines.append(read.tensor())
        else:
            outputs, inputs = read.packed_int(), read.packed_int()
            fc = read.tensor().reshape(inputs, outputs)
    expected = _expected_convs()
    if mean is None or fc is None or fc.shape != (256, 128) or len(raw) != len(expected):
        raise ModelFormatError(f"{path.name}: not the expected ResNet")
    if len(affines) != len(raw):
        raise ModelFormatError(f"{path.name}: {len(affines)} affine layers for {len(raw)}")
    convs = []
    for (params, ints), gains, spec in zip(raw, affines, expected, strict=True):
        filters, channels, size, stride, padding = spec
        if ints != (filters, size, size, stride, stride, padding, padding) or params.size != (
            filters * channels * size * size + filters
        ):
            raise ModelFormatError(f"{path.name}: a convolution is not {spec}")
        if gains.size != 2 * filters:
            raise ModelFormatError(f"{path.name}: an affine layer is not {filters} wide")
        gamma, beta = gains[:filters], gains[filters:]
        weights = params[:-filters].reshape(filters, -1) * gamma[:, None]
        bias = (params[-filters:] * gamma + beta)[:, None]
        convs.append(_Conv(np.ascontiguousarray(weights), bias, size, stride, padding))
    return Descriptor(mean, convs, np.ascontiguousarray(fc))


def limit_blas_threads(count: int = 1) -> bool:
    """Limit the OpenBLAS loaded in this process (NumPy's) to ``count`` threads; whether
    it was found.

    Each check process is meant to take one core: OpenBLAS starts a thread per core by
    default, and two processes each running two BLAS threads on two cores spend their
    time waiting for each other. The environment variables would have to be set before
    NumPy loads, which in a spawned pool process happens before any initializer runs.
    """
    try:
        with Path("/proc/self/maps").open(encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return False
    limited = False
    for path in paths:
        try:
            library = ctypes.CDLL(path)  # already loaded: this only finds its handle
        except OSError:  # a mapping that is no loadable file, such as "(deleted)"
            continue
        for symbol in (
            "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ):
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(count))
                limited = True
                break
    return limited
