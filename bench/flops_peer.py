"""Distance to the limit, the peer's side and the FLOP counts: the BLAS kernels python3-torch
runs (OpenBLAS's core name), the sgemm rate at 2048^2 (the machine's peak for what these
networks do), and for a TorchScript model the FLOPs of one batch (torch's profiler counts
convolutions and matrix products; a training step is taken as 3x the forward pass) with the
rate python3-torch reaches on random tensors of that shape.

  flops_peer.py [MODEL_PT C,H,W BATCH train|infer]    (threads: 2)"""
import ctypes
import json
import statistics
import sys
import time

import torch


def openblas_core():
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "not OpenBLAS"


def median_seconds(fn, repeats):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sgemm_gflops(n=2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / median_seconds(lambda: a @ b, 7) / 1e9


def forward_flops(model, x):
    with torch.autograd.profiler.profile(with_flops=True) as prof:
        model(x)
    return sum(e.flops for e in prof.key_averages() if e.flops)


def main():
    torch.set_num_threads(2)
    out = {"blas_core": openblas_core(), "threads": 2, "sgemm_2048_gflops": sgemm_gflops()}
    if len(sys.argv) > 4:
        shape = [int(v) for v in sys.argv[2].split(",")]
        batch, mode = int(sys.argv[3]), sys.argv[4]
        model = torch.jit.load(sys.argv[1])
        x = torch.randn(batch, *shape)
        if mode == "train":
            model.train()
            out_classes = model(x).shape[1]
            y = torch.randint(0, out_classes, (batch,))
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

            def step():
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
            flops = 3 * forward_flops(model, x)
            seconds = median_seconds(step, 20)
        else:
            model.eval()
            with torch.inference_mode():
                flops = forward_flops(model, x)
                seconds = median_seconds(lambda: model(x), 10)
        out.update({"mode": mode, "batch": batch, "input": shape, "gflop_per_batch": flops / 1e9,
                    "peer_seconds_per_batch": seconds, "peer_gflops": flops / seconds / 1e9})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
