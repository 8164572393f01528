#!/usr/bin/python3
"""PyTorch CPU as a benchmark peer: the same models, data and training the project runs.

Run as `/usr/bin/python3 bench/peers/pytorch_peer.py '<json job>'`. Prints exactly one JSON object
on stdout; everything else (warnings, library chatter) goes to stderr. A bad job exits with code 2
and a one-line message on stderr.

Jobs (every job also takes "threads" and "mnist_dir"; "seed" 0, "batch" 60 and "lr" 1.2e-3 by default):
  {"kind": "train", "model": M, "iterations": N, ["warmup": 20], ["train_examples": 55000], ["density": 1]}
      times N Adam steps after the untimed warm-up steps; density < 1 trains through
      torch.nn.utils.prune.custom_from_mask with a random mask of that density on every weight.
  {"kind": "imp", "rounds": R, "iterations": N, "eval_every": E, ["validation": 5000],
   ["prune_rate": 0.2], ["output_rate": 0.1], ["model": "lenet-300-100"]}
      iterative magnitude pruning of LeNet-300-100 as `ticket find` does it (layer-wise, reset to θ0).
"""
import json
import math
import os
import re
import sys
import time

MODELS = ("lenet-300-100", "lenet-5", "conv-2", "conv-4", "conv-6")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def fail(message):
    print(f"pytorch_peer: {message}", file=sys.stderr)
    sys.exit(2)


# --- job validation (before importing torch, so a bad job fails fast) ---

def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def positive_int(name, v):
    if not is_int(v) or v < 1:
        fail(f'"{name}" must be a positive integer, got {json.dumps(v)}')


def nonnegative_int(name, v):
    if not is_int(v) or v < 0:
        fail(f'"{name}" must be an integer >= 0, got {json.dumps(v)}')


def positive_number(name, v):
    if not is_num(v) or v <= 0:
        fail(f'"{name}" must be a positive number, got {json.dumps(v)}')


def fraction_open(name, v):
    if not is_num(v) or not 0 < v <= 1:
        fail(f'"{name}" must be a number in (0, 1], got {json.dumps(v)}')


def rate(name, v):
    if not is_num(v) or not 0 <= v < 1:
        fail(f'"{name}" must be a number in [0, 1), got {json.dumps(v)}')


def model_name(name, v):
    if v not in MODELS:
        fail(f'unknown model {json.dumps(v)} (choose {", ".join(MODELS)})')


def data_dir(name, v):
    if not isinstance(v, str) or not v:
        fail(f'"{name}" must be a directory path, got {json.dumps(v)}')
    missing = [f for f in IDX_FILES if not os.path.isfile(os.path.join(v, f))]
    if missing:
        fail(f'"{name}" {v} lacks the uncompressed MNIST IDX file(s) {", ".join(missing)}')


COMMON = {"kind": (None, None), "threads": (positive_int, None), "mnist_dir": (data_dir, None),
          "seed": (nonnegative_int, 0), "batch": (positive_int, 60), "lr": (positive_number, 1.2e-3)}
# field -> (check, default); default None means required
KINDS = {
    "train": {"model": (model_name, None), "iterations": (positive_int, None), "warmup": (nonnegative_int, 20),
              "train_examples": (positive_int, 55000), "density": (fraction_open, 1.0)},
    "imp": {"rounds": (nonnegative_int, None), "iterations": (positive_int, None), "eval_every": (positive_int, None),
            "validation": (positive_int, 5000), "prune_rate": (rate, 0.2), "output_rate": (rate, 0.1),
            "model": (lambda n, v: v == "lenet-300-100" or fail(f'imp runs lenet-300-100 only, got model {json.dumps(v)}'),
                      "lenet-300-100")},
}


def parse_job(argv):
    if len(argv) != 2:
        fail("usage: pytorch_peer.py '<json job>' (exactly one argument)")
    try:
        job = json.loads(argv[1])
    except json.JSONDecodeError as e:
        fail(f"the job is not valid JSON: {e}")
    if not isinstance(job, dict):
        fail("the job must be a JSON object")
    kind = job.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        fail(f'unknown or missing "kind" {json.dumps(kind)} (choose {", ".join(KINDS)})')
    fields = {**COMMON, **KINDS[kind]}
    # reject unknown fields: a misspelt option would otherwise silently run with its default
    unknown = sorted(set(job) - set(fields))
    if unknown:
        fail(f'unknown field(s) {", ".join(unknown)} for a job of kind "{kind}" (known: {", ".join(fields)})')
    out = {}
    for name, (check, default) in fields.items():
        if name not in job:
            if default is None:
                fail(f'a job of kind "{kind}" needs the field "{name}"')
            out[name] = default
            continue
        if check:
            check(name, job[name])
        out[name] = job[name]
    if kind == "train":
        if out["train_examples"] > 60000:
            fail(f'"train_examples" must be at most 60000, got {out["train_examples"]}')
        if out["batch"] > out["train_examples"]:
            fail(f'"batch" {out["batch"]} is larger than the {out["train_examples"]} training examples')
    else:
        if out["validation"] >= 60000:
            fail(f'"validation" must be smaller than 60000, got {out["validation"]}')
        if out["batch"] > 60000 - out["validation"]:
            fail(f'"batch" {out["batch"]} is larger than the {60000 - out["validation"]} training examples')
    return out


job = parse_job(sys.argv)

# Thread counts must be in the environment before OpenBLAS (via numpy or torch) initialises.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(job["threads"])

# Keep stdout for the one JSON object: anything printed meanwhile, even by C code, goes to stderr.
result_fd = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

torch.set_num_threads(job["threads"])
torch.manual_seed(job["seed"])


# --- data ---

def read_idx(path, ndim):
    with open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 0x800 + ndim:
        raise ValueError(f"{path}: not an IDX file of {ndim} dimension(s) of bytes (magic {magic:#x})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim, count=int(np.prod(shape))).reshape(shape)


def load_split(prefix, rows=None):
    """Images as float32 [N, 784] in [0, 1] and labels as int64 [N]."""
    images = read_idx(os.path.join(job["mnist_dir"], f"{prefix}-images-idx3-ubyte"), 3)
    labels = read_idx(os.path.join(job["mnist_dir"], f"{prefix}-labels-idx1-ubyte"), 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{prefix}: {images.shape[0]} images but {labels.shape[0]} labels")
    if rows is not None:
        images, labels = images[:rows], labels[:rows]
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255))
    return x, torch.from_numpy(labels.astype(np.int64))


class Batches:
    """Full minibatches from a seeded permutation, reshuffled each epoch; the partial tail is dropped."""

    def __init__(self, count, batch, seed):
        self.count, self.batch = count, batch
        self.generator = torch.Generator().manual_seed(seed)
        self.position = count  # shuffle on first use

    def next(self):
        if self.position + self.batch > self.count:
            self.order = torch.randperm(self.count, generator=self.generator)
            self.position = 0
        idx = self.order[self.position:self.position + self.batch]
        self.position += self.batch
        return idx


# --- models ---

def conv_stack(plan):
    """plan: channel counts and "pool"; 3×3 convolutions with padding 1, as in the paper's Conv-2/4/6."""
    layers, channels, side = [], 1, 28
    for p in plan:
        if p == "pool":
            layers.append(nn.MaxPool2d(2, 2))
            side //= 2
        else:
            layers += [nn.Conv2d(channels, p, 3, padding=1), nn.ReLU()]
            channels = p
    return layers, channels * side * side


def fc_stack(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


def build(name):
    if name == "lenet-300-100":
        layers = fc_stack([784, 300, 100, 10])
    elif name == "lenet-5":
        layers = [nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Flatten(), *fc_stack([16 * 4 * 4, 120, 84, 10])]
    else:
        plan = {"conv-2": [64, 64, "pool"],
                "conv-4": [64, 64, "pool", 128, 128, "pool"],
                "conv-6": [64, 64, "pool", 128, 128, "pool", 256, 256, "pool"]}[name]
        convs, flat = conv_stack(plan)
        layers = [*convs, nn.Flatten(), *fc_stack([flat, 256, 256, 10])]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def prunable(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def input_shape(name):
    return (-1, 784) if name == "lenet-300-100" else (-1, 1, 28, 28)


# --- reporting ---

def blas_description():
    config = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([\w-]+)", config)
    info = m.group(1) if m else "unknown"
    # Debian builds say "generic": the BLAS is whichever libblas.so.3 the alternatives system
    # points at, so name the library actually mapped into this process
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        paths = set()
    libs = sorted(p for p in paths if "openblas" in os.path.basename(p) or "mkl" in p or "blis" in p) or sorted(paths)
    if libs:
        lib = libs[0]
        v = re.search(r"openblas\w*-r?(\d+\.\d+\.\d+)", os.path.basename(lib))
        flavour = os.path.basename(os.path.dirname(lib))
        name = f"OpenBLAS {v.group(1)}" if v else os.path.basename(lib)
        return f"{name} ({flavour})" if flavour.startswith("openblas") else f"{info}: {name}"
    return f"BLAS_INFO={info}"


def onednn_version():
    m = re.search(r"MKL-DNN (v[\d.]+)", torch.__config__.show())
    return m.group(1) if m else None


def emit(result):
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(result) + "\n")


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=job["lr"])


# --- jobs ---

def run_train():
    name = job["model"]
    x, y = load_split("train", job["train_examples"])
    x = x.reshape(input_shape(name))
    model = build(name)
    layers = prunable(model)
    kept = total = 0
    for m in layers:
        size = m.weight.numel()
        total += size
        if job["density"] < 1:
            keep = max(1, math.floor(job["density"] * size + 0.5))
            mask = torch.zeros(size)
            mask[torch.randperm(size)[:keep]] = 1
            # how PyTorch users train a masked ticket: weight = weight_orig * weight_mask in every forward
            prune.custom_from_mask(m, "weight", mask.reshape(m.weight.shape))
            kept += keep
        else:
            kept += size
    optimizer = adam(model)
    batches = Batches(x.shape[0], job["batch"], job["seed"] + 1)

    def step():
        idx = batches.next()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        return loss.item()  # read back, as a training loop that logs its loss does

    for _ in range(job["warmup"]):
        step()
    t0 = time.perf_counter()
    for _ in range(job["iterations"]):
        loss = step()
    seconds = time.perf_counter() - t0
    if not math.isfinite(loss):
        raise RuntimeError(f"training diverged: loss {loss}")
    return {"kind": "train", "model": name, "threads": job["threads"], "iterations": job["iterations"],
            "seconds": seconds, "steps_per_second": job["iterations"] / seconds, "torch": torch.__version__,
            "blas": blas_description(), "onednn": onednn_version(), "density": kept / total}


def prune_smallest(weight, mask, k):
    """Zeroes in `mask` the k smallest |w| among the unpruned, ties in index order (as the project's select)."""
    if k <= 0:
        return
    scores = weight.detach().abs().flatten().clone()
    scores[mask.flatten() == 0] = math.inf
    drop = torch.sort(scores, stable=True).indices[:k]
    mask.view(-1)[drop] = 0


def run_imp():
    x_all, y_all = load_split("train")
    x_test, y_test = load_split("t10k")
    order = torch.randperm(x_all.shape[0], generator=torch.Generator().manual_seed(job["seed"] + 2))
    val_idx = order[:job["validation"]].sort().values
    train_idx = order[job["validation"]:].sort().values
    x_val, y_val = x_all[val_idx], y_all[val_idx]
    x_train, y_train = x_all[train_idx], y_all[train_idx]

    model = build("lenet-300-100")
    layers = prunable(model)
    theta0 = {k: v.clone() for k, v in model.state_dict().items()}
    masks = None  # round 0 trains dense
    total = sum(m.weight.numel() for m in layers)

    def evaluate(xs, ys):
        with torch.no_grad():
            logits = model(xs)
            return F.cross_entropy(logits, ys).item(), (logits.argmax(1) == ys).float().mean().item()

    rounds, started = [], time.perf_counter()
    for r in range(job["rounds"] + 1):
        t0 = time.perf_counter()
        if r > 0:
            # layer-wise: round(rate · remaining) of each layer, output layer at its own rate
            if masks is None:
                masks = [torch.ones_like(m.weight) for m in layers]
            for i, (m, mask) in enumerate(zip(layers, masks)):
                rate_ = job["output_rate"] if i == len(layers) - 1 else job["prune_rate"]
                prune_smallest(m.weight, mask, math.floor(rate_ * mask.sum().item() + 0.5))
            model.load_state_dict(theta0)
            with torch.no_grad():
                for m, mask in zip(layers, masks):
                    m.weight.mul_(mask)
        optimizer = adam(model)
        batches = Batches(x_train.shape[0], job["batch"], job["seed"] + 1)  # same order every round
        best = (math.inf, 0)
        train_seconds = 0.0
        for it in range(job["iterations"] + 1):
            if it > 0:
                s0 = time.perf_counter()
                idx = batches.next()
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                loss.backward()
                if masks is not None:
                    for m, mask in zip(layers, masks):
                        m.weight.grad.mul_(mask)
                optimizer.step()
                if masks is not None:
                    # Adam with zero gradients leaves zeros alone; this keeps them exact regardless
                    with torch.no_grad():
                        for m, mask in zip(layers, masks):
                            m.weight.mul_(mask)
                loss = loss.item()
                train_seconds += time.perf_counter() - s0
                if not math.isfinite(loss):
                    raise RuntimeError(f"training diverged: loss {loss} at iteration {it} of round {r}")
            if it % job["eval_every"] == 0 or it == job["iterations"]:
                val_loss, _ = evaluate(x_val, y_val)
                if val_loss < best[0]:
                    best = (val_loss, it)
        _, test_accuracy = evaluate(x_test, y_test)
        kept = total if masks is None else int(sum(mask.sum().item() for mask in masks))
        rounds.append({"round": r, "percent_remaining": 100 * kept / total, "seconds": time.perf_counter() - t0,
                       "test_accuracy": test_accuracy, "best_val_loss_iteration": best[1],
                       "train_seconds": train_seconds, "steps_per_second": job["iterations"] / train_seconds})
    return {"kind": "imp", "threads": job["threads"], "iterations": job["iterations"], "rounds": job["rounds"],
            "eval_every": job["eval_every"], "total_seconds": time.perf_counter() - started, "rounds_detail": rounds,
            "torch": torch.__version__, "blas": blas_description()}


emit(run_train() if job["kind"] == "train" else run_imp())
