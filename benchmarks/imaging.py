"""Poster-frame renditions: castsmith's ``make_renditions`` against the old method.

Run: ``.venv/bin/python benchmarks/imaging.py`` (``--runs N`` for more timing runs).

The old method, for each of sm/md/lg in turn: ``img.copy(); thumbnail((s, s),
LANCZOS); save(WEBP, quality=85, method=6)``. Each output is compared by SSIM with an
uncompressed LANCZOS resize of the source to the same size. Goals: at least 2.5x
faster, total bytes at most +5 %, SSIM of every size within 0.005 of the old one.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where sibling benchmarks (such
# as queue.py) would shadow standard-library modules that the thread pool imports.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

from castsmith.imaging import make_renditions  # noqa: E402

SIZES = {"sm": 256, "md": 512, "lg": 1024}
SPEEDUP_GOAL = 2.5
BYTES_GOAL = 1.05
SSIM_TOLERANCE = 0.005


def photo_like(size: int = 1024, seed: int = 7, sensor_noise: float = 1.0) -> bytes:
    """A PNG with photo statistics: smooth light, 1/f texture, hard-edged shapes, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = np.stack(
        [
            120 + 80 * np.sin(x * 3.1 + 0.5) * np.cos(y * 2.3),
            110 + 70 * np.cos(x * 2.0 - y * 1.7),
            100 + 90 * np.sin((x + y) * 2.1 + 1.0),
        ],
        axis=-1,
    )
    # Natural images have roughly 1/f spectra: octaves of noise, fading with frequency.
    texture = np.zeros((size, size), np.float32)
    for octave in range(1, 10):
        cells = 2**octave
        noise = Image.fromarray(rng.normal(0, 1, (cells, cells)).astype(np.float32), "F")
        upsampled = np.asarray(noise.resize((size, size), Image.Resampling.BICUBIC))
        texture += upsampled * (60 / 1.25**octave)
    light += texture[..., None] * np.array([1.0, 0.9, 0.8], np.float32)
    image = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(size // 40, size // 6))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            draw.rectangle([cx - r, cy - r // 2, cx + r, cy + r // 2], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    pixels = np.asarray(image, np.float32) + rng.normal(0, sensor_noise, (size, size, 3))
    return _png(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"))


def noisy(size: int = 1024, seed: int = 7) -> bytes:
    """A stress case: blurred shapes under strong white noise (sigma 6), like high-ISO film."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (128, 110, 100))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(size // 40, size // 6))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(rng.integers(0, 256, 3)))
    image = image.filter(ImageFilter.GaussianBlur(2.5))
    pixels = np.asarray(image, np.float32) + rng.normal(0, 6, (size, size, 3))
    return _png(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"))


def real_photo(size: int = 1024) -> bytes:
    """scikit-image's bundled 512 px astronaut photograph, enlarged to ``size``."""
    from skimage import data as samples

    image = Image.fromarray(samples.astronaut()).convert("RGB")
    return _png(image.resize((size, size), Image.Resampling.LANCZOS))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def old_method(data: bytes) -> dict[str, bytes]:
    """The method being replaced, kept verbatim in behaviour."""
    img = Image.open(io.BytesIO(data))
    out = {}
    for name, side in SIZES.items():
        resized = img.copy()
        resized.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, format="WEBP", quality=85, method=6)
        out[name] = buffer.getvalue()
    return out


def median_seconds(
    fns: list[Callable[[], object]], runs: int, cpu: list[float] | None = None
) -> list[float]:
    """Median wall time of ``runs`` calls of each function, after one warm-up call each.

    When ``cpu`` is given, the median CPU time of this process is appended to it.

    The functions take turns within every round, so a burst of load from elsewhere on
    the machine slows them all alike instead of skewing one of them.
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    cpu_times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, bucket, cpu_bucket in zip(fns, times, cpu_times, strict=True):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            bucket.append(time.perf_counter() - start)
            cpu_bucket.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.extend(statistics.median(bucket) for bucket in cpu_times)
    return [statistics.median(bucket) for bucket in times]


def ssim(reference: Image.Image, webp: bytes) -> float:
    """SSIM of a WebP against an uncompressed reference of the same size."""
    decoded = Image.open(io.BytesIO(webp)).convert("RGB")
    if decoded.size != reference.size:
        raise AssertionError(f"size {decoded.size} differs from reference {reference.size}")
    return float(
        structural_similarity(
            np.asarray(reference), np.asarray(decoded), channel_axis=2, data_range=255
        )
    )


@dataclass(frozen=True)
class Variant:
    """One way of making the three renditions, with its measurements."""

    label: str
    seconds: float
    cpu_seconds: float
    sizes: dict[str, int]
    ssims: dict[str, float]

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


Maker = Callable[[bytes], dict[str, bytes]]


def measure(data: bytes, makers: dict[str, Maker], runs: int) -> list[Variant]:
    """Outputs, SSIM and median time of each way of making the renditions."""
    source = Image.open(io.BytesIO(data)).convert("RGB")
    cpu: list[float] = []
    seconds = median_seconds([lambda fn=fn: fn(data) for fn in makers.values()], runs, cpu)
    variants = []
    for (label, fn), elapsed, cpu_s in zip(makers.items(), seconds, cpu, strict=True):
        outputs = fn(data)
        ssims = {}
        for name, webp in outputs.items():
            with Image.open(io.BytesIO(webp)) as probe:
                size = probe.size
            reference = (
                source if size == source.size else source.resize(size, Image.Resampling.LANCZOS)
            )
            ssims[name] = ssim(reference, webp)
        sizes = {k: len(v) for k, v in outputs.items()}
        variants.append(Variant(label, elapsed, cpu_s, sizes, ssims))
    return variants


def _webp(image: Image.Image, method: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=85, method=method)
    return buffer.getvalue()


def castsmith(
    method: int | None = None, parallel: bool = True, small_method: int | None = None
) -> Callable[[bytes], dict[str, bytes]]:
    """``make_renditions`` with its defaults, or the given methods."""
    options: dict[str, int] = {}
    if method is not None:
        options["method"] = method
    if small_method is not None:
        options["small_method"] = small_method

    def run(data: bytes) -> dict[str, bytes]:
        renditions = make_renditions(data, SIZES, parallel=parallel, **options)
        return {name: r.data for name, r in renditions.items()}

    return run


def report(case: str, data: bytes, runs: int) -> bool:
    """Print one case's table; return whether castsmith's default meets the goals."""
    makers: dict[str, Maker] = {
        "old: thumbnail + method 6": old_method,
        "castsmith default: lg m2, md+sm m5, threads": castsmith(),
        "castsmith default, one thread": castsmith(parallel=False),
        "castsmith, lg m2, md+sm m6, threads": castsmith(method=2, small_method=6),
        "castsmith, method 4, threads": castsmith(method=4, small_method=4),
        "castsmith, lg m4, md+sm m6, threads": castsmith(method=4, small_method=6),
    }
    old, *variants = measure(data, makers, runs)
    source = Image.open(io.BytesIO(data)).convert("RGB")
    print(f"\n### {case} ({len(data):,} bytes of PNG, median of {runs} runs)\n")
    header = (
        "| variant | ms | speedup | CPU ms | "
        + " | ".join(f"{n} bytes | {n} SSIM" for n in SIZES)
        + " | total bytes | vs old |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for v in [old, *variants]:
        cells = " | ".join(f"{v.sizes[n]:,} | {v.ssims[n]:.4f}" for n in SIZES)
        print(
            f"| {v.label} | {v.seconds * 1000:.0f} | {old.seconds / v.seconds:.2f}x | "
            f"{v.cpu_seconds * 1000:.0f} | {cells} | "
            f"{v.total:,} | {v.total / old.total - 1:+.1%} |"
        )
    decode_s, m2_s, m6_s = median_seconds(
        [
            lambda: Image.open(io.BytesIO(data)).load(),
            lambda: _webp(source, 2),
            lambda: _webp(source, 6),
        ],
        runs,
    )
    print(
        f"\ncritical path: decode {decode_s * 1000:.0f} ms + largest encode at method 2 "
        f"{m2_s * 1000:.0f} ms (method 6: {m6_s * 1000:.0f} ms, {m6_s / m2_s:.2f}x) -> "
        f"at most {old.seconds / (decode_s + m2_s):.2f}x faster than the old method"
    )
    best = variants[0]
    speed_ok = old.seconds / best.seconds >= SPEEDUP_GOAL
    bytes_ok = best.total <= old.total * BYTES_GOAL
    worst_ssim = max(old.ssims[n] - best.ssims[n] for n in SIZES)
    ssim_ok = worst_ssim <= SSIM_TOLERANCE
    print(
        f"\ngoals for castsmith's default: speedup {old.seconds / best.seconds:.2f}x >= "
        f"{SPEEDUP_GOAL}x {'OK' if speed_ok else 'MISSED'}; total bytes "
        f"{best.total / old.total - 1:+.1%} <= +5% {'OK' if bytes_ok else 'MISSED'}; "
        f"largest SSIM loss {worst_ssim:+.4f} <= {SSIM_TOLERANCE} {'OK' if ssim_ok else 'MISSED'}"
    )
    return speed_ok and bytes_ok and ssim_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per variant (>= 9)")
    args = parser.parse_args()
    print(
        f"Pillow {Image.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    ok = report("photo-like 1024x1024 (the goal case)", photo_like(), args.runs)
    report("real photograph (astronaut, enlarged to 1024)", real_photo(), args.runs)
    report("stress: strong white noise", noisy(), args.runs)
    print(f"\nresult: goals {'met' if ok else 'NOT met'} on the photo-like case")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
