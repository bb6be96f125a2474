"""Draw docs/detection.png: baton and both wrists around one simulated exchange.

    .venv/bin/pip install -e '.[docs]' && .venv/bin/python docs/make_detection_figure.py

Top to bottom: |ω| of baton, giver wrist and receiver wrist (rad/s); the gyro
residuals |ω_baton − R ω_wrist| for giver and receiver (rad/s, log scale); the
rigid-body acceleration residuals (m/s², log scale) that time grab and release;
the baton's specific force |f| (m/s²).  Detected events are solid lines, the
simulator's truth dashed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from batonsense.detect import detect_exchanges  # noqa: E402
from batonsense.detect.timing import fit_rotation, residual  # noqa: E402
from batonsense.detect.grid import make_grid, resample  # noqa: E402
from batonsense.detect.rigid import acc_residual  # noqa: E402
from batonsense.sim import simulate  # noqa: E402

OUT = Path(__file__).with_name("detection.png")


def main(scenario: str = "drill_200hz", seed: int = 1) -> Path:
    sim = simulate(scenario, seed=seed)
    rec = sim.recording
    found = detect_exchanges(rec)
    truth = next(e for e in sim.truth if e.grab_s is not None)
    det = min(found, key=lambda e: abs((e.grab_s or 0) - truth.grab_s))
    wrist = {(w.athlete, w.hand): w.id for w in rec.wrists}
    gid = wrist[(det.giver, det.giver_hand)]
    rid = wrist[(det.receiver, det.receiver_hand)]
    t = make_grid(truth.grab_s - 2.0, truth.release_s + 1.0, 400.0)
    bt = resample(rec.streams[rec.baton.id], t)
    ga = resample(rec.streams[gid], t)
    rb = resample(rec.streams[rid], t)
    rot_g, _ = fit_rotation(t, bt[1], ga[1], t[0], truth.grab_s - 0.3)
    rot_r, _ = fit_rotation(t, bt[1], rb[1], truth.release_s + 0.05, t[-1])
    ef_g, _ = acc_residual(bt[0], ga[0], ga[1], rot_g, 400.0, t < truth.grab_s - 0.3)
    ef_r, _ = acc_residual(bt[0], rb[0], rb[1], rot_r, 400.0, t > truth.release_s + 0.05)
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), sharex=True)
    for g, label in ((bt, "baton"), (ga, f"giver {det.giver} ({det.giver_hand.value})"),
                     (rb, f"receiver {det.receiver} ({det.receiver_hand.value})")):
        axes[0].plot(t, np.linalg.norm(g[1], axis=1), label=label, lw=1)
    axes[0].set_ylabel("|ω| rad/s")
    axes[1].plot(t, residual(bt[1], ga[1], rot_g), label="baton vs giver wrist", lw=1)
    axes[1].plot(t, residual(bt[1], rb[1], rot_r), label="baton vs receiver wrist", lw=1)
    axes[1].set_ylabel("gyro residual rad/s")
    axes[1].set_yscale("log")
    axes[2].plot(t, ef_g, label="baton vs giver wrist", lw=1)
    axes[2].plot(t, ef_r, label="baton vs receiver wrist", lw=1)
    axes[2].set_ylabel("acc residual m/s²")
    axes[2].set_yscale("log")
    axes[3].plot(t, np.linalg.norm(bt[0], axis=1), color="k", lw=1, label="baton |f|")
    axes[3].set_ylabel("|f| m/s²")
    axes[3].set_xlabel("time on the recording clock, s")
    for name, color in (("reach_s", "tab:green"), ("grab_s", "tab:blue"),
                        ("release_s", "tab:red")):
        for ax in axes:
            if getattr(det, name) is not None:
                ax.axvline(getattr(det, name), color=color, lw=1.2)
            ax.axvline(getattr(truth, name), color=color, lw=1.2, ls="--")
        axes[0].plot([], [], color=color, label=name.removesuffix("_s"))
    for ax in axes:
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{scenario} seed {seed}: detected (solid) vs truth (dashed)")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    return OUT


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
