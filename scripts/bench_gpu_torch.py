# PyTorch side of scripts/bench-gpu.sh (run with the GPU machine's python3, which has torch).
#
#   python3 bench_gpu_torch.py peak
#   python3 bench_gpu_torch.py net NETWORK.(json|yaml) BATCH ITERATIONS REPEATS MODE
#   python3 bench_gpu_torch.py report OUT "MODE..."
#
# `peak` prints the GPU's measured ceilings as JSON lines: FP32 and TF32 matrix multiply
# (8192^3, cuBLAS through torch.mm) and device memory bandwidth (a 1 GiB copy).
# `net` builds the network layer for layer from our own network spec (configs/networks/*.yaml, or
# the JSON bench-gpu.sh made of it where the machine has no PyYAML), so both sides train exactly
# the same graph, and prints {"kind": "net", "name", "batch", "params", "mode", "images_per_s",
# "ms_per_iter"}. One iteration: forward, the losses (weighted as the spec says), backward, an SGD
# step (momentum 0.9, weight decay 5e-4), with inputs already on the GPU; the loss is never read
# back (PyTorch at its natural best; our engine reads it every iteration, as digits-train does).
# MODE: "default" is PyTorch's defaults (cuDNN convolutions may use TF32 tensor cores, matrix
# multiplies are FP32); "fp32" turns TF32 off everywhere, the arithmetic our engine promises.
# `report` prints bench-gpu.sh's table from the JSON lines the runs left in OUT.
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def best_seconds(step, iterations, repeats):
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / iterations)
    return best


def peak():
    n = 8192
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.mm(a, b)
        seconds = best_seconds(lambda: torch.mm(a, b), 10, 3)
        print(json.dumps({"kind": "peak", "what": "tf32_matmul" if tf32 else "fp32_matmul",
                          "n": n, "tflops": round(2 * n**3 / seconds / 1e12, 2)}))
    torch.backends.cuda.matmul.allow_tf32 = False
    x = torch.empty(1 << 28, device="cuda")  # 1 GiB of float32
    y = torch.empty_like(x)
    seconds = best_seconds(lambda: y.copy_(x), 10, 3)
    print(json.dumps({"kind": "peak", "what": "copy_bandwidth",
                      "gbytes_per_s": round(2 * x.numel() * 4 / seconds / 1e9, 1)}))
    print(json.dumps({"kind": "device", "name": torch.cuda.get_device_name(0),
                      "torch": torch.__version__, "cuda": torch.version.cuda,
                      "cudnn": torch.backends.cudnn.version()}))


def load_spec(path):
    with open(path) as f:
        if path.endswith(".json"):
            return json.load(f)
        import yaml  # only where the machine has PyYAML
        return yaml.safe_load(f)


def in_train_phase(layer):
    phase = layer.get("phase")
    if phase is None:
        return True
    return "train" in ([phase] if isinstance(phase, str) else phase)


def as_list(value):
    return value if isinstance(value, list) else [value]


def pair(layer, key, default):
    # Caffe's kernel_size / kernel_h + kernel_w spellings (the same for stride and pad).
    base = key.replace("_size", "")
    if key in layer:
        return (int(layer[key]), int(layer[key]))
    if f"{base}_h" in layer:
        return (int(layer[f"{base}_h"]), int(layer[f"{base}_w"]))
    return (default, default)


def pooled(shape, layer):
    """Caffe's pooling output size: ceil rule, then drop a last window starting in the padding."""
    if layer.get("global_pooling"):
        return (shape[0], 1, 1)
    k, s, p = pair(layer, "kernel_size", 1), pair(layer, "stride", 1), pair(layer, "pad", 0)
    out = []
    for i in (0, 1):
        n = -(-(shape[1 + i] + 2 * p[i] - k[i]) // s[i]) + 1
        if p[i] > 0 and (n - 1) * s[i] >= shape[1 + i] + p[i]:
            n -= 1
        out.append(n)
    return (shape[0], out[0], out[1])


class SpecNet(nn.Module):
    """The train phase of one of our network specs, run as a list of (layer, bottoms, tops)."""

    def __init__(self, spec):
        super().__init__()
        self.steps = []
        self.mods = nn.ModuleDict()
        shapes = {"data": tuple(spec["input"]["data"])}  # (C, H, W) of every blob
        previous = "data"
        classes = spec.get("classes", 10)
        for layer in spec["layers"]:
            if not in_train_phase(layer):
                continue
            kind = layer["type"]
            bottoms = as_list(layer.get("bottom", previous))
            tops = as_list(layer.get("top", layer["name"]))
            key = str(len(self.steps))
            shape = shapes.get(bottoms[0])
            if kind == "Convolution":
                k, st, p, d = (pair(layer, "kernel_size", 1), pair(layer, "stride", 1), pair(layer, "pad", 0),
                               pair(layer, "dilation", 1))
                out = int(layer["num_output"])
                self.mods[key] = nn.Conv2d(shape[0], out, k, st, p, dilation=d, groups=int(layer.get("group", 1)),
                                           bias=layer.get("bias_term", True))
                shape = (out,) + tuple((shape[1 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // st[i] + 1 for i in (0, 1))
            elif kind == "Pooling":
                shape = pooled(shape, layer)
                if layer.get("global_pooling"):
                    self.mods[key] = nn.AdaptiveAvgPool2d(1) if layer.get("pool") == "AVE" else nn.AdaptiveMaxPool2d(1)
                elif layer.get("pool", "MAX") == "MAX":
                    self.mods[key] = nn.MaxPool2d(pair(layer, "kernel_size", 1), pair(layer, "stride", 1),
                                                  pair(layer, "pad", 0), ceil_mode=True)
                else:
                    self.mods[key] = nn.AvgPool2d(pair(layer, "kernel_size", 1), pair(layer, "stride", 1),
                                                  pair(layer, "pad", 0), ceil_mode=True)
            elif kind == "LRN":
                self.mods[key] = nn.LocalResponseNorm(int(layer.get("local_size", 5)), float(layer.get("alpha", 1)),
                                                      float(layer.get("beta", 0.75)), float(layer.get("k", 1)))
            elif kind == "ReLU":
                self.mods[key] = nn.ReLU(inplace=tops == bottoms)
            elif kind == "InnerProduct":
                n = layer["num_output"]
                out = classes if n == "classes" else int(n)
                self.mods[key] = nn.Sequential(nn.Flatten(), nn.Linear(shape[0] * shape[1] * shape[2], out,
                                                                       bias=layer.get("bias_term", True)))
                shape = (out, 1, 1)
            elif kind == "Dropout":
                # Not in place: autograd needs the ReLU output it would overwrite.
                self.mods[key] = nn.Dropout(float(layer.get("dropout_ratio", 0.5)))
            elif kind == "Concat":
                shape = (sum(shapes[b][0] for b in bottoms),) + shape[1:]
            elif kind == "SoftmaxWithLoss":
                pass
            else:
                sys.exit(f"bench_gpu_torch.py: layer type {kind} is not translated yet")
            self.steps.append((kind, key, bottoms, tops, float(layer.get("loss_weight", 1))))
            for t in tops:
                shapes[t] = shape
            previous = tops[0]

    def forward(self, data, label):
        blobs = {"data": data, "label": label}
        loss = 0
        for kind, key, bottoms, tops, weight in self.steps:
            if kind == "Concat":
                y = torch.cat([blobs[b] for b in bottoms], 1)
            elif kind == "SoftmaxWithLoss":
                loss = loss + weight * F.cross_entropy(blobs[bottoms[0]], blobs[bottoms[1]])
                continue
            else:
                y = self.mods[key](blobs[bottoms[0]])
            blobs[tops[0]] = y
        return loss


def net(path, batch, iterations, repeats, mode):
    torch.backends.cudnn.allow_tf32 = mode == "default"
    torch.backends.cuda.matmul.allow_tf32 = False
    spec = load_spec(path)
    torch.manual_seed(1)
    model = SpecNet(spec).cuda().train()
    shape = spec["input"]["data"]
    x = torch.rand(batch, *shape, device="cuda") * 2 - 1
    y = torch.randint(0, spec.get("classes", 10), (batch,), device="cuda")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(x, y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    seconds = best_seconds(step, iterations, repeats)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"kind": "net", "name": spec["name"], "batch": batch, "params": params,
                      "mode": mode, "images_per_s": round(batch / seconds, 1),
                      "ms_per_iter": round(seconds * 1e3, 3)}))


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report(out, modes):
    """The table bench-gpu.sh prints, from the JSON lines every part wrote under `out`."""
    peaks = load_jsonl(f"{out}/peak.jsonl")
    peak = {r["what"]: r for r in peaks if r["kind"] == "peak"}
    device = next(r for r in peaks if r["kind"] == "device")
    fp32, tf32 = peak["fp32_matmul"]["tflops"], peak["tf32_matmul"]["tflops"]
    print(f"\n{device['name']}: torch {device['torch']}, CUDA {device['cuda']}, cuDNN {device['cudnn']}")
    print(f"measured peaks: FP32 matmul {fp32:.1f} TFLOP/s, TF32 matmul {tf32:.1f} TFLOP/s, "
          f"copy {peak['copy_bandwidth']['gbytes_per_s']:.0f} GB/s")
    differ = False
    for name in ("lenet", "alexnet", "googlenet"):
        ours = load_jsonl(f"{out}/{name}.ours.jsonl")[0]
        flops = next(r for r in load_jsonl(f"{out}/{name}.flops.jsonl") if r["kind"] == "net")["flops_per_image"]
        print(f"\n{ours['name']}, batch {ours['batch']}, {ours['params']:,} parameters, "
              f"{flops / 1e9:.2f} GFLOP per image (forward + backward), ours on {ours['device']}")
        print(f"  {'':16s} {'images/s':>9s} {'ms/iter':>8s} {'TFLOP/s':>8s} {'of FP32':>8s} {'of TF32':>8s} "
              f"{'digits/this':>11s}")
        rows = [("digits", ours)] + [(f"PyTorch {m}", load_jsonl(f"{out}/{name}.torch-{m}.jsonl")[0]) for m in modes]
        for label, r in rows:
            if r["params"] != ours["params"]:
                print(f"  {label}: {r['params']:,} parameters, not {ours['params']:,}: the networks differ")
                differ = True
            rate = flops * r["images_per_s"] / 1e12
            print(f"  {label:16s} {r['images_per_s']:9.0f} {r['ms_per_iter']:8.2f} {rate:8.2f} {rate / fp32:8.1%} "
                  f"{rate / tf32:8.1%} {ours['images_per_s'] / r['images_per_s']:10.2f}x")
    if differ:
        sys.exit("bench_gpu_torch.py: the two sides trained different networks")


if __name__ == "__main__":
    if sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3].split())
        sys.exit(0)
    if not torch.cuda.is_available():
        sys.exit("bench_gpu_torch.py: torch sees no CUDA GPU")
    if sys.argv[1] == "peak":
        peak()
    else:
        net(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
