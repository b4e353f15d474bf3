"""One PNG per run: requests per second, p99 latency and CPU per request, for every endpoint and
variant, each bar labelled with its value and its ratio to ours (matplotlib, Agg: no display)."""

from pathlib import Path
from typing import Any

PANELS = (
    ("rps", "rps_x", "requests per second (more is better)", "{:,.0f}"),
    ("p99_ms", "p99_x", "p99 latency, ms (less is better)", "{:,.1f}"),
    ("cpu_us", "cpu_x", "server CPU per request, us (less is better)", "{:,.0f}"),
)
LABELS = {
    "E1": "E1 GET /blogs/{id}",
    "E2": "E2 GET /blogs?limit=20",
    "E3": "E3 GET /blogs?limit=20&cursor=(deep)",
    "E4": "E4 GET /users/{id}/blogs?limit=20",
    "W1": "W1 POST /blogs",
    "W2": "W2 PATCH /blogs/{id} If-Match",
    "W3": "W3 GET /users/me",
    "W4": "W4 DELETE /blogs/{id}",
}


def draw(result: dict[str, Any], path: Path) -> Path:
    import matplotlib  # bench-only, and only when drawing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["results"]
    endpoints = list(dict.fromkeys(row["endpoint"] for row in rows))
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    colours = {v: plt.get_cmap("tab10")(i % 10) for i, v in enumerate(variants)}
    height = 0.45 * len(variants) + 0.9
    fig, axes = plt.subplots(
        len(endpoints),
        len(PANELS),
        figsize=(19, height * len(endpoints) + 1.4),
        squeeze=False,
        layout="constrained",
    )
    for r, endpoint in enumerate(endpoints):
        by_variant = {row["variant"]: row for row in rows if row["endpoint"] == endpoint}
        shown = [v for v in variants if v in by_variant]
        for c, (key, ratio, title, fmt) in enumerate(PANELS):
            ax = axes[r][c]
            values = [by_variant[v][key] for v in shown]
            ys = range(len(shown))
            ax.barh(ys, values, color=[colours[v] for v in shown], height=0.7)
            ax.set_yticks(list(ys), shown if c == 0 else [""] * len(shown), fontsize=9)
            ax.invert_yaxis()
            ax.set_xlim(0, max(values) * 1.45 if max(values) > 0 else 1)
            ax.tick_params(axis="x", labelsize=8)
            ax.grid(axis="x", alpha=0.3)
            for y, v in zip(ys, shown, strict=True):
                row = by_variant[v]
                text = fmt.format(row[key])
                if v != variants[0]:
                    text += f"  ({row[ratio]:.2f}x ours)"
                ax.text(row[key], y, " " + text, va="center", fontsize=8)
            if c == 0:
                ax.set_ylabel(LABELS.get(endpoint, endpoint), fontsize=10, fontweight="bold")
            if r == 0:
                ax.set_title(title, fontsize=11)
    facts = result.get("machine", {})
    config = result.get("config", {})
    fig.suptitle(
        f"bench/run.py at {facts.get('commit', '?')}: medians of {config.get('rounds', '?')} "
        f"rounds of wrk -c{config.get('connections', '?')} for {config.get('seconds', '?')} s; "
        f"{facts.get('nproc', '?')} cores ({facts.get('cpu', '?')}), load average "
        f"{' '.join(facts.get('loadavg_at_start', []))} at start, "
        f"{' '.join(result.get('loadavg_at_end', []))} at end",
        fontsize=11,
    )
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
