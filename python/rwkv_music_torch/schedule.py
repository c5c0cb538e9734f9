"""Learning-rate schedules, pure functions of the position as src/train/schedule.ts."""
import math


def learning_rate(s, step, batch_in_epoch, batches_in_epoch, total_steps=None):
    kind = s["kind"]
    if kind == "constant":
        return s["lr"]
    if kind == "cosine":
        total = total_steps if total_steps else math.inf
        warmup = min(s["warmupSteps"], math.floor(total / 5)) if math.isfinite(total) else s["warmupSteps"]
        if step < warmup:
            return s["lr"] * (step + 1) / warmup
        span = max(1, total - warmup)
        progress = min(1.0, (step - warmup) / span) if math.isfinite(span) else 0.0
        return s["minLr"] + (s["lr"] - s["minLr"]) * 0.5 * (1 + math.cos(math.pi * progress))
    lo, hi = s["lo"], s["hi"]
    p = batch_in_epoch / batches_in_epoch if batches_in_epoch > 0 else 0
    mid = hi / 7 + lo
    if p < 0.35:
        return lo + (hi - lo) * p / 0.35
    if p < 0.7:
        return hi + (mid - hi) * (p - 0.35) / 0.35
    return mid + (lo - mid) * (p - 0.7) / 0.3
