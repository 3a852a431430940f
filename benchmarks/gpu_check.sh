#!/usr/bin/env bash
# GPU check (issue 21): train `improved` for a few epochs and predict one chromosome on the
# GPU, print windows/s and the training step time, and check that the GPU's predictions
# equal the CPU's (the same trained model, CUDA_VISIBLE_DEVICES="") within a tolerance.
#
# Run from the repository root on a GPU machine:
#   bash benchmarks/gpu_check.sh            # ~200,000 training rows, a 20-Mbp chromosome
#   bash benchmarks/gpu_check.sh --tiny     # seconds-scale sizes (checks the script, also CPU-only)
# Uses .venv if present; otherwise creates .venv-gpu with `pip install -e .` and
# `tensorflow[and-cuda]`. Settings (environment): GPU_CHECK_ROWS, GPU_CHECK_BP, GPU_CHECK_EPOCHS,
# GPU_CHECK_STRIDE, GPU_CHECK_TOL (largest |GPU - CPU| probability, default 2e-3: TensorFloat-32
# matrix products on Ampere or later), GPU_CHECK_REQUIRE_GPU=1 (fail when no GPU is seen),
# GPU_CHECK_DIR (work folder, default a temporary one, removed at the end).
set -euo pipefail

ROWS=${GPU_CHECK_ROWS:-200000}
BP=${GPU_CHECK_BP:-20000000}
EPOCHS=${GPU_CHECK_EPOCHS:-3}
STRIDE=${GPU_CHECK_STRIDE:-50}
TOL=${GPU_CHECK_TOL:-2e-3}
if [[ "${1:-}" == "--tiny" ]]; then
    ROWS=${GPU_CHECK_ROWS:-3000}; BP=${GPU_CHECK_BP:-300000}; EPOCHS=${GPU_CHECK_EPOCHS:-1}
fi

if [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
else
    if [[ ! -x .venv-gpu/bin/python ]]; then
        python3 -m venv .venv-gpu
        .venv-gpu/bin/pip install -q -e .
        .venv-gpu/bin/pip uninstall -q -y tensorflow-cpu || true
        .venv-gpu/bin/pip install -q "tensorflow[and-cuda]>=2.16.1"
    fi
    PY=.venv-gpu/bin/python
fi

OWN_DIR=0
if [[ -z "${GPU_CHECK_DIR:-}" ]]; then
    GPU_CHECK_DIR=$(mktemp -d); OWN_DIR=1
fi
WORK=$GPU_CHECK_DIR
cleanup() { if [[ $OWN_DIR == 1 ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2} PYTHONPATH="benchmarks${PYTHONPATH:+:$PYTHONPATH}"
echo "gpu_check: $ROWS training rows, a $BP-bp chromosome, $EPOCHS epochs, stride $STRIDE, tolerance $TOL"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"

# 1. data: a synthetic chromosome with planted TGACTCA sites, and a dataset of 501-bp rows
"$PY" - "$WORK" "$ROWS" "$BP" <<'PYEOF'
import json, sys
from pathlib import Path
import numpy as np
from train_throughput import write_split
from tfbinding.data.prepare_genome import prepare_fasta

work, rows, bp = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
sequence = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, bp)].copy()
sites = rng.choice(np.arange(1000, bp - 1000, 500), max(1, bp // 5000), replace=False)
for start in sites:
    sequence[start:start + 7] = np.frombuffer(b"TGACTCA", np.uint8)
with open(work / "raw.fa", "w") as handle:
    handle.write(">chrG\n")
    text = sequence.tobytes().decode()
    handle.writelines(text[i:i + 80] + "\n" for i in range(0, len(text), 80))
prepare_fasta(work / "raw.fa", work / "genome.fa")
with open(work / "peaks.bed", "w") as handle:
    handle.writelines(f"chrG\t{s - 100}\t{s + 107}\n" for s in sorted(sites))
for split, n, seed in (("train", rows, 0), ("valid", max(2000, rows // 10), 1), ("test", 1000, 2)):
    write_split(work / "dataset" / split, n, 501, seed=seed)
(work / "dataset" / "manifest.json").write_text(json.dumps(
    {"format": "tfbinding-dataset/1", "window": {"length": 101, "flank": 200}}))
print(f"data: chrG {bp:,} bp, {len(sites):,} planted sites; train {rows:,} rows of 501 bp")
PYEOF

# 2. train improved on the default device (the GPU when there is one)
"$PY" - "$WORK" "$EPOCHS" <<'PYEOF'
import json, sys, time
from pathlib import Path
import numpy as np
import tensorflow as tf
import keras
from tfbinding.config import TrainingConfig
from tfbinding.models.train import train_model

work, epochs = Path(sys.argv[1]), int(sys.argv[2])
gpus = tf.config.list_physical_devices("GPU")
print(f"train: TensorFlow {tf.__version__}, GPUs {[g.name for g in gpus] or 'none (training on the CPU)'}")
steps = []

class StepTimer(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        steps.append(time.perf_counter() - self.start)

fit = keras.Model.fit
keras.Model.fit = lambda self, *a, callbacks=(), **k: fit(self, *a, callbacks=[*callbacks, StepTimer()], **k)
begin = time.perf_counter()
summary = train_model(work / "dataset", "improved", work / "improved",
                      TrainingConfig(improved_epochs=epochs, patience=epochs))
seconds = time.perf_counter() - begin
steady = steps[len(steps) // max(epochs, 1):] if epochs > 1 else steps[5:] or steps
median = float(np.median(steady))
print(f"train: {summary['epochs_run']} epochs in {seconds:.1f} s; step time {1e3 * median:.1f} ms "
      f"(median, batch 256, after the first epoch) = {256 / median:,.0f} rows/s; "
      f"val PR AUC {summary['val_pr_auc']:.3f}")
(work / "train.json").write_text(json.dumps({"gpus": len(gpus), "seconds": seconds, "step_s": median}))
PYEOF

# 3. predict chrG with both engines, on the default device and then on the CPU
predict() {  # $1: label, $2: engine
    "$PY" - "$WORK" "$1" "$2" "$STRIDE" <<'PYEOF'
import json, sys, time
from pathlib import Path
import numpy as np
import tensorflow as tf
from tfbinding.genomewide.predict import predict_chromosome
from tfbinding.models.inference import configure_tensorflow

work, label, engine, stride = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
configure_tensorflow(0)
out = work / f"predict_{label}_{engine}"
begin = time.perf_counter()
metrics = predict_chromosome(work / "improved", "improved", work / "genome.fa", "chrG", out, length=101,
                             flank=200, stride=stride, peaks=work / "peaks.bed", engine=engine)
seconds = time.perf_counter() - begin
devices = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
print(f"predict [{label}, {devices}] engine {metrics['engine']}: {metrics['windows']:,} windows in {seconds:.1f} s "
      f"= {metrics['windows'] / seconds:,.0f} windows/s (model loading and tracks included)")
PYEOF
}
for engine in scan per_window; do
    predict device "$engine"
    CUDA_VISIBLE_DEVICES="" predict cpu "$engine"
done

# 4. compare
"$PY" - "$WORK" "$TOL" <<'PYEOF'
import json, sys
from pathlib import Path
import numpy as np

work, tol = Path(sys.argv[1]), float(sys.argv[2])
scores = {}
for folder in sorted(work.glob("predict_*")):
    with np.load(folder / "chrG.windows.npz") as windows:
        key = "scores" if "scores" in windows else [k for k in windows.files if k != "starts"][0]
        scores[folder.name.removeprefix("predict_")] = np.asarray(windows[key], dtype=np.float64)
gpus = json.loads((work / "train.json").read_text())["gpus"]
failed = False
for name, (a, b) in {"device vs CPU, scan": ("device_scan", "cpu_scan"),
                     "device vs CPU, per_window": ("device_per_window", "cpu_per_window"),
                     "scan vs per_window, device": ("device_scan", "device_per_window"),
                     "scan vs per_window, CPU": ("cpu_scan", "cpu_per_window")}.items():
    diff = float(np.abs(scores[a] - scores[b]).max())
    ok = diff <= tol
    failed |= not ok
    print(f"compare {name}: max |difference| {diff:.2e} over {scores[a].size:,} windows: "
          f"{'ok' if ok else 'FAILED'} (tolerance {tol:g})")
if not gpus:
    print("note: no GPU was visible, so the 'device' runs were on the CPU too")
print("gpu_check:", "FAILED" if failed else "passed")
sys.exit(1 if failed else 0)
PYEOF
if [[ "${GPU_CHECK_REQUIRE_GPU:-0}" == 1 ]] && ! grep -q '"gpus": [1-9]' "$WORK/train.json"; then
    echo "gpu_check: no GPU was visible (GPU_CHECK_REQUIRE_GPU=1)"; exit 1
fi
