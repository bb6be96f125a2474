"""Rich tables of exchanges for the terminal (the CLI's human-readable output)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from batonsense.model import Exchange, Hand, Outcome, Recording

_HAND = {Hand.LEFT: "L", Hand.RIGHT: "R", None: "?"}


def fmt_s(t: float | None) -> str:
    """A time in s with 3 decimals (1 ms), '–' if unknown."""
    return "–" if t is None else f"{t:.3f}"


def fmt_ms(d: float | None) -> str:
    """A duration in ms with 1 decimal, '–' if unknown."""
    return "–" if d is None else f"{d:.1f}"


def hands(x: Exchange) -> str:
    """'R→L' style: giver's hand → receiver's hand."""
    return f"{_HAND[x.giver_hand]}→{_HAND[x.receiver_hand]}"


def warning(x: Exchange) -> str:
    """Coach-facing warning text for an exchange ('' if none)."""
    notes = []
    if x.hand_mismatch:
        notes.append("same hand!")
    for role in x.hands_without_sensor:
        event = "release" if role == "giver" else "grab"
        notes.append(f"{role}'s hand wears no sensor: {event} not timed")
    if x.outcome is Outcome.DROPPED:
        notes.append("baton dropped" + (f" at {x.drop_s:.3f} s" if x.drop_s is not None else ""))
    return "; ".join(notes)


def exchanges_table(exchanges: Sequence[Exchange], title: str = "Exchanges") -> Table:
    """One row per exchange: who, hands, event times (s), overlap/reach (ms), outcome."""
    table = Table(title=title, header_style="bold")
    for name, justify in (
        ("#", "right"), ("giver → receiver", "left"), ("hands", "center"),
        ("reach s", "right"), ("grab s", "right"), ("release s", "right"),
        ("overlap ms", "right"), ("reach ms", "right"), ("outcome", "left"),
        ("warning", "left"), ("conf.", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, x in enumerate(exchanges, start=1):
        outcome = x.outcome.value
        style = "red" if x.outcome is Outcome.DROPPED else None
        table.add_row(
            str(i),
            f"{x.giver or '?'} → {x.receiver or '?'}",
            hands(x),
            fmt_s(x.reach_s),
            fmt_s(x.grab_s),
            fmt_s(x.release_s),
            fmt_ms(x.overlap_ms),
            fmt_ms(x.reach_ms),
            outcome,
            warning(x),
            "–" if x.confidence is None else f"{x.confidence:.2f}",
            style=style,
        )
    return table


def summary_line(exchanges: Sequence[Exchange], recording: Recording | None = None) -> str:
    """E.g. '4 exchanges (3 completed, 1 dropped); median overlap 182.0 ms; 1 hand mismatch'."""
    n = len(exchanges)
    dropped = sum(x.outcome is Outcome.DROPPED for x in exchanges)
    parts = [f"{n} exchange{'s' if n != 1 else ''} ({n - dropped} completed, {dropped} dropped)"]
    overlaps = sorted(x.overlap_ms for x in exchanges if x.overlap_ms is not None)
    if overlaps:
        parts.append(f"median overlap {overlaps[len(overlaps) // 2]:.1f} ms")
    mismatches = sum(bool(x.hand_mismatch) for x in exchanges)
    if mismatches:
        parts.append(f"{mismatches} hand mismatch{'es' if mismatches != 1 else ''}")
    if recording is not None:
        parts.append(
            f"recording {recording.end_s - recording.start_s:.1f} s, "
            f"{len(recording.sensors)} sensors"
        )
    return "; ".join(parts)


def comparison_table(
    truth: Sequence[Exchange],
    detected: Sequence[Exchange],
    pairs: Sequence[tuple[int, int]],
) -> Table:
    """Truth beside detection: grab/release times (s) and their errors (ms), misses, extras."""
    table = Table(title="Detected vs truth", header_style="bold")
    for name in ("giver → receiver", "grab s\ntrue", "grab s\ndetected", "Δ grab\nms",
                 "release s\ntrue", "release s\ndetected", "Δ release\nms",
                 "overlap ms\ntrue", "overlap ms\ndetected", "outcome\ntrue",
                 "outcome\ndetected"):
        table.add_column(name, justify="left" if "→" in name or "outcome" in name else "right",
                         no_wrap=True)
    matched_true = {i: j for i, j in pairs}
    matched_det = set(matched_true.values())
    rows: list[tuple[float, Exchange | None, Exchange | None]] = []
    for i, t in enumerate(truth):
        d = detected[matched_true[i]] if i in matched_true else None
        rows.append((t.time_s, t, d))
    rows += [(d.time_s, None, d) for j, d in enumerate(detected) if j not in matched_det]
    for _, t, d in sorted(rows, key=lambda r: r[0]):
        ref = t or d
        assert ref is not None
        table.add_row(
            f"{ref.giver or '?'} → {ref.receiver or '?'}",
            fmt_s(t.grab_s if t else None),
            fmt_s(d.grab_s if d else None),
            _delta(t.grab_s if t else None, d.grab_s if d else None),
            fmt_s(t.release_s if t else None),
            fmt_s(d.release_s if d else None),
            _delta(t.release_s if t else None, d.release_s if d else None),
            fmt_ms(t.overlap_ms if t else None),
            fmt_ms(d.overlap_ms if d else None),
            t.outcome.value if t else "[red]false alarm[/red]",
            d.outcome.value if d else "[red]missed[/red]",
        )
    return table


def _delta(true_s: float | None, det_s: float | None) -> str:
    """Detected − true in ms with sign, '–' if either is unknown."""
    if true_s is None or det_s is None:
        return "–"
    return f"{(det_s - true_s) * 1000.0:+.1f}"
