#!/usr/bin/env bash
# Everything this project checks on a lent GPU, in one script; results go to $OUT.
# Usage (device machine, repo root): OUT=/some/dir MNIST=path/to/mnist bash bench/gpu_session.sh
set -u
export PYTHONPATH="$PWD" STEADYGAN_MNIST_DIR="${MNIST:-.gpu_data/mnist}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" >> "$OUT/gpu.txt"
timeout 120 python -m pytest -q -x tests/train tests/models -p no:cacheprovider > "$OUT/pytest.txt" 2>&1
echo "pytest rc=$?" >> "$OUT/pytest.txt"
for b in 128 1024; do
  timeout 90 python bench/throughput.py --device cuda --batch "$b" --seconds 5 > "$OUT/throughput_$b.txt" 2>&1
done
( time timeout 150 python -m steadygan train --data mnist --epochs 5 --batch-size 128 --seed 0 \
    --out "$OUT/mnist5" --no-progress --set run.sample_every=500 ) > "$OUT/mnist5.txt" 2>&1
rm -rf "$OUT"/mnist5/checkpoints
# the robustness grid on MNIST (issue #4): 16 trials (8 cells x controller off / on), side by side
timeout 240 python bench/robustness.py --data mnist --steps 2340 --seeds 0 --workers 16 --device cuda \
    --set train.batch_size=128 --data-dir "$STEADYGAN_MNIST_DIR" --out "$OUT/robustness" \
    > "$OUT/robustness_mnist.md" 2>&1
find "$OUT/robustness" -name checkpoints -type d -prune -exec rm -rf {} +
