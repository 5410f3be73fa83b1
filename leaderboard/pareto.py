"""Pareto fronts (higher accuracy, lower cost) and the plotly figure of one."""
from __future__ import annotations

import math

from leaderboard.data import FAMILY_COLORS, OTHER_COLOR

# x-axis choices: column, axis title, log axis by default
X_METRICS = {
    "latency": ("p50_ms", "p50 latency, batch 1 (ms) — absolute, depends on the hardware", True),
    "relative latency": ("relative_latency", "latency relative to fp32 in the same session (1 / speedup)", True),
    "size": ("size_kb", "artifact size (KB)", True),
    "memory": ("peak_mem_mb", "peak memory above an empty interpreter (MB)", True),
}


def pareto_mask(costs, accuracies) -> list[bool]:
    """True where no other point is at least as cheap and at least as accurate, and strictly better in one.
    Points with a missing value are never on the front."""
    points = [(c, a) for c, a in zip(costs, accuracies)]
    valid = [c is not None and a is not None and not (isinstance(c, float) and math.isnan(c))
             and not (isinstance(a, float) and math.isnan(a)) for c, a in points]
    mask = []
    for i, (c, a) in enumerate(points):
        if not valid[i]:
            mask.append(False)
            continue
        dominated = any(valid[j] and cj <= c and aj >= a and (cj < c or aj > a)
                        for j, (cj, aj) in enumerate(points) if j != i)
        mask.append(not dominated)
    return mask


def with_front(rows, x_column: str):
    """Copy of rows with `on_front` for (x_column, accuracy_pct), sorted by cost."""
    rows = rows.copy()
    if x_column == "relative_latency":
        rows["relative_latency"] = 1.0 / rows["speedup"]
    rows = rows[rows[x_column].notna() & rows["accuracy_pct"].notna()]
    rows["on_front"] = pareto_mask(rows[x_column].tolist(), rows["accuracy_pct"].tolist())
    return rows.sort_values(x_column)


def _ci_hover(rows):
    """The batch-1 speedup's 95% interval as hover text (" [1.47, 1.58]"; "" when none is recorded)."""
    if "speedup_ci" not in rows.columns:
        return [""] * len(rows)
    return [f" {ci}" if isinstance(ci, str) and ci else "" for ci in rows["speedup_ci"]]


def _scatter(rows, x_column: str, y_column: str, custom: list[str], hover: str, front_name: str):
    """The shared drawing of both plots: one marker trace per family (the front's points larger and ringed),
    the front as a dotted step line; hover from `custom` columns (+ the speedup interval last)."""
    import plotly.graph_objects as go

    rows = rows.assign(_ci=_ci_hover(rows))
    fig = go.Figure()
    for family in sorted(rows["family"].unique()):
        part = rows[rows["family"] == family]
        fig.add_trace(go.Scatter(
            x=part[x_column], y=part[y_column], mode="markers", name=family,
            marker=dict(size=[15 if f else 10 for f in part["on_front"]], color=FAMILY_COLORS.get(family, OTHER_COLOR),
                        line=dict(width=[2.5 if f else 0.5 for f in part["on_front"]], color="black"), opacity=0.9),
            customdata=part[[*custom, "_ci"]].fillna(0).values, hovertemplate=hover))
    front = rows[rows["on_front"]]
    if len(front):
        fig.add_trace(go.Scatter(x=front[x_column], y=front[y_column], mode="lines", name=front_name,
                                 line=dict(color="black", dash="dot", width=1.5, shape="hv"), hoverinfo="skip"))
    return fig


def figure(rows, metric: str, log_x: bool = True, title: str = ""):
    """Scatter coloured by family; the front drawn as a step line and ringed markers; hover = the entry."""
    x_column, x_title, _ = X_METRICS[metric]
    rows = with_front(rows, x_column)
    hover = ("<b>%{customdata[0]}</b> (%{customdata[1]}, %{customdata[2]})<br>"
             "accuracy %{y:.2f}% (Δ %{customdata[3]:+.2f} pp)<br>"
             f"{x_title.split(' (')[0]}: " + "%{x:.4g}<br>"
             "speedup %{customdata[4]:.2f}×%{customdata[8]} · %{customdata[5]}<br>"
             "target %{customdata[6]} · id %{customdata[7]}<extra></extra>")
    fig = _scatter(rows, x_column, "accuracy_pct",
                   ["method", "family", "framework", "delta_pp", "speedup", "hardware", "target", "id"], hover,
                   "Pareto front")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="top-1 accuracy on the test split (%)",
                      legend_title_text="family", margin=dict(l=10, r=10, t=50 if title else 20, b=10),
                      height=520)
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig, rows


# Speed-only tracks (random weights, no accuracy): what a method buys in speed for its size or memory.
SPEED_X_METRICS = {
    "size": ("size_kb", "artifact size (KB)", True),
    "memory": ("peak_mem_mb", "peak memory above an empty interpreter (MB)", True),
}


def speed_figure(rows, metric: str, log_x: bool = True, title: str = ""):
    """Speedup (batch 1, vs fp32 in the same session) against artifact size or peak memory; the front (no
    other entry both smaller and at least as fast) ringed and joined. Returns (figure, plotted rows)."""
    x_column, x_title, _ = SPEED_X_METRICS[metric]
    rows = rows[rows[x_column].notna() & rows["speedup"].notna()].copy()
    rows["on_front"] = pareto_mask(rows[x_column].tolist(), rows["speedup"].tolist())
    rows = rows.sort_values(x_column)
    hover = ("<b>%{customdata[0]}</b> (%{customdata[1]}, %{customdata[2]})<br>"
             "speedup %{y:.2f}×%{customdata[7]} · b64 %{customdata[3]:.2f}×<br>"
             f"{x_title.split(' (')[0]}: " + "%{x:.4g}<br>"
             "%{customdata[4]} · target %{customdata[5]} · id %{customdata[6]}<extra></extra>")
    fig = _scatter(rows, x_column, "speedup",
                   ["method", "family", "framework", "throughput_speedup", "hardware", "target", "id"], hover, "front")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="speedup vs fp32, batch 1 (×)",
                      legend_title_text="family", margin=dict(l=10, r=10, t=50 if title else 20, b=10), height=480)
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig, rows
