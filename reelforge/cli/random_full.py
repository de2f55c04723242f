"""`reelforge checkpoint random-full`: the full-size components, random, on a device."""

from __future__ import annotations

import time

from rich.table import Table

from reelforge.cli.common import output
from reelforge.cli.failures import fail

DTYPES = ("bfloat16", "float16", "float32")


def build_and_report(device: str, dtype_name: str) -> None:
    """Build each component of `architecture.COMPONENTS` on `device` and print its size
    (and, on CUDA, the memory it holds and the peak)."""
    import torch

    from reelforge.engines import architecture, full_size

    # 1. Check the device and dtype before building anything
    if dtype_name not in DTYPES:
        fail(f"--dtype {dtype_name!r}: must be one of {', '.join(DTYPES)}")
    if not (device == "meta" or device.startswith("cuda")):
        fail(f"--device {device!r}: must be 'meta' or a CUDA device ('cuda', 'cuda:1', ...)")
    if device.startswith("cuda") and not torch.cuda.is_available():
        fail(
            f"--device {device}: this machine has no CUDA device (torch {torch.__version__}); "
            "use --device meta to check the architecture without one"
        )
    dtype = getattr(torch, dtype_name)
    cuda = device.startswith("cuda")
    # 2. Build, one component at a time, keeping them all (what a worker would hold)
    table = Table("component", "class", "parameters", f"GB in {dtype_name}", "seconds")
    if cuda:
        table.add_column("GPU GiB held")
    kept = {}
    total = 0
    for name in architecture.COMPONENTS:
        started = time.perf_counter()
        try:
            kept[name] = module = full_size.build(name, device, dtype)
        except torch.cuda.OutOfMemoryError:
            fail(
                f"{device} ran out of memory building {name} after {total / 1e9:.2f}B "
                f"parameters ({total * dtype.itemsize / 1e9:.1f} GB in {dtype_name}); all "
                "components resident need more than this GPU has: that is what "
                "REELFORGE_MEMORY_MODE's offloading modes are for"
            )
        if cuda:
            torch.cuda.synchronize(device)
        count = full_size.parameter_count(module)
        total += count
        row = [
            name,
            architecture.spec(name)["class"].rpartition(".")[2],
            f"{count / 1e9:.2f}B",
            f"{count * dtype.itemsize / 1e9:.1f}",
            f"{time.perf_counter() - started:.1f}",
        ]
        if cuda:
            row.append(f"{torch.cuda.memory_allocated(device) / 2**30:.1f}")
        table.add_row(*row)
    out = output()
    out.print(table)
    out.print(
        f"all components: {total / 1e9:.2f}B parameters, {total * dtype.itemsize / 1e9:.1f} GB "
        f"in {dtype_name}, built on {device} (random weights, from "
        "reelforge/engines/architecture/*.json)"
    )
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        free, whole = torch.cuda.mem_get_info(device)
        out.print(
            f"GPU peak {peak:.1f} GiB; free now {free / 2**30:.1f} of {whole / 2**30:.1f} GiB"
        )
