"""The run's report: each target's headline figures, the targets, and the printed table.

Every figure is given with the durable floor's and the floor's from the same run, and as a
ratio to each; the targets are judged against the durable floor (what any server that
acknowledges a message only after its durable commit pays at least on this disk).
"""

from __future__ import annotations

from typing import Any


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(runs, key=lambda r: r["acks_per_second"]) if runs else {}


def figures(result: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of one target."""
    latency = result.get("latency", {})
    top = best(result.get("throughput", []))
    memory = result.get("memory", {})
    points = memory.get("points", [{}])
    return {
        "visitor_to_agent_median_ms": latency.get("visitor_to_agent", {}).get("median_ms"),
        "visitor_to_agent_p99_ms": latency.get("visitor_to_agent", {}).get("p99_ms"),
        "ack_median_ms": latency.get("ack", {}).get("median_ms"),
        "ack_p99_ms": latency.get("ack", {}).get("p99_ms"),
        "acks_per_second": top.get("acks_per_second"),
        "ack_p99_at_max_ms": top.get("ack", {}).get("p99_ms"),
        "cpu_us_per_ack_at_max": top.get("server_cpu_us_per_ack"),
        "kib_per_idle_socket": points[-1].get("per_socket_kib"),
        "idle_sockets": memory.get("live_sockets"),
        "connections_per_second": result.get("connections", {}).get("per_second"),
        "hello_to_welcome_median_ms": result.get("connections", {}).get(
            "hello_to_welcome", {}).get("median_ms"),
    }


def conditions(report: dict[str, Any]) -> dict[str, Any]:
    """Was the machine ours? The most other programs used of each core in any phase, the
    hypervisor's steal, and the disk's fsync: figures are preliminary when others ran."""
    other = {"server_core": 0.0, "loadgen_core": 0.0, "steal": 0.0}
    for result in report["results"].values():
        phases = [result.get(k, {}) for k in ("connections", "latency", "memory")]
        phases += result.get("throughput", [])
        for phase in phases:
            other["server_core"] = max(other["server_core"],
                                       phase.get("other_load_server_core", 0.0))
            other["loadgen_core"] = max(other["loadgen_core"],
                                        phase.get("other_load_loadgen_core", 0.0))
            other["steal"] = max(other["steal"], phase.get("steal_server_core", 0.0),
                                 phase.get("steal_loadgen_core", 0.0))
    fsync = report["machine"].get("fsync_4k", {})
    return {"max_other_load_server_core": round(other["server_core"], 3),
            "max_other_load_loadgen_core": round(other["loadgen_core"], 3),
            "max_steal": round(other["steal"], 3),
            "fsync_median_ms": fsync.get("median_ms"), "fsync_p99_ms": fsync.get("p99_ms"),
            "preliminary": max(other.values()) > 0.05}


ROWS = [  # key, label, target text, check(server, durable floor) -> met
    ("visitor_to_agent_median_ms", "visitor->agent median (ms)", "<= 1.2x durable",
     lambda s, d: s <= 1.2 * d),
    ("visitor_to_agent_p99_ms", "visitor->agent p99 (ms)", "<= durable, <= 10",
     lambda s, d: s <= d and s <= 10),
    ("ack_median_ms", "ack median (ms)", "", None),
    ("ack_p99_ms", "ack p99 (ms)", "", None),
    ("acks_per_second", "acked messages/s (max)", ">= 0.8x durable, >= 5000",
     lambda s, d: s >= 0.8 * d and s >= 5000),
    ("ack_p99_at_max_ms", "ack p99 at max (ms)", "", None),
    ("cpu_us_per_ack_at_max", "CPU per acked message (us)", "", None),
    ("kib_per_idle_socket", "KiB per idle visitor socket", "<= 22", lambda s, d: s <= 22),
    ("idle_sockets", "idle sockets held", ">= 10000", lambda s, d: s >= 10000),
    ("connections_per_second", "new visitors/s", ">= 0.9x durable, >= 600",
     lambda s, d: s >= 0.9 * d and s >= 600),
    ("hello_to_welcome_median_ms", "hello->welcome median (ms)", "", None),
]


def ratio(figure: float | None, to: float | None) -> float | None:
    return round(figure / to, 2) if figure is not None and to else None


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure of the server beside the two floors', judged when the durable floor ran."""
    server, durable, floor = (figures(report["results"].get(kind, {}))
                              for kind in ("server", "durable", "floor"))
    rows = []
    for key, label, goal, check in ROWS:
        s, d = server.get(key), durable.get(key)
        met = check(s, d) if check and s is not None and d is not None else None
        rows.append({"figure": key, "label": label, "target": goal, "server": s,
                     "durable_floor": d, "floor": floor.get(key),
                     "ratio_to_durable_floor": ratio(s, d),
                     "ratio_to_floor": ratio(s, floor.get(key)), "meets_target": met})
    stored = report["results"].get("server", {}).get("connections", {}).get("visitors_stored")
    if stored is not None:
        rows.append({"figure": "visitors_stored", "label": "new visitors stored",
                     "target": "all", "server": stored, "durable_floor": None, "floor": None,
                     "ratio_to_durable_floor": None, "ratio_to_floor": None,
                     "meets_target": stored == report["config"]["connections"]})
    return rows


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def layout(header: list[str], lines: list[list[str]]) -> str:
    """Columns as wide as their widest cell, the first to the left, the others right."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            for line in lines]
    return "\n".join(out)


def table(rows: list[dict[str, Any]]) -> str:
    header = ["figure", "target", "server", "durable floor", "floor", "server/durable",
              "server/floor", "met"]
    lines = [[r["label"], r["target"], *(cell(r[k]) for k in (
        "server", "durable_floor", "floor", "ratio_to_durable_floor", "ratio_to_floor",
        "meets_target"))] for r in rows]
    return layout(header, lines)


CPU_KINDS = ["server", "pg1", "pg2"]  # the chat server on SQLite, on PostgreSQL + Redis
CPU_COLUMNS = [("server", "server"), ("postgres", "postgres backends"),
               ("pg_background", "postgres other"), ("redis", "redis-server"),
               ("total", "total"), ("loadgen", "generator")]


def cpu_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """For the chat server's targets: CPU microseconds per acknowledged message of each kind
    of process, in the latency phase (per message, offered load) and at the best window of
    the throughput phase (per acknowledged message)."""
    rows = []
    for kind in CPU_KINDS:
        result = report["results"].get(kind)
        if not result:
            continue
        for phase, run, unit in (("latency", result.get("latency", {}), "message"),
                                 ("throughput", best(result.get("throughput", [])), "ack")):
            if not run:
                continue
            cpu = {name: run.get(f"{name}_cpu_us_per_{unit}") for name, _ in CPU_COLUMNS}
            if cpu["total"] is None:  # SQLite: the server is the whole target
                cpu["total"] = cpu["server"]
            rows.append({"target": kind, "processes": result.get("server_processes", 1),
                         "phase": phase + (f" W={run['window']}" if "window" in run else ""),
                         "acks_per_second": run.get("acks_per_second"),
                         "visitor_to_agent_p99_ms": run.get("visitor_to_agent", {}).get(
                             "p99_ms"),
                         "ack_median_ms": run.get("ack", {}).get("median_ms"),
                         "cpu_us": cpu})
    return rows


def cpu_table(rows: list[dict[str, Any]]) -> str:
    header = ["target", "phase", "acks/s", "v->a p99 ms", "ack median ms",
              *(f"{label} us" for _, label in CPU_COLUMNS)]
    lines = [[r["target"], r["phase"], *(cell(r[k]) for k in (
        "acks_per_second", "visitor_to_agent_p99_ms", "ack_median_ms")),
        *(cell(r["cpu_us"][name]) for name, _ in CPU_COLUMNS)] for r in rows]
    return layout(header, lines)
