"""The console's Reports page, rendered on the server (the Admin page is in
`console_views.admin`).

Reports are computed by the same code as `GET /api/reports` (the store's rows, then
`chatserver.domain.reports.report`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.domain import reports
from chatserver.domain.money import Money
from chatserver.web import charts
from chatserver.web.console import signed_in
from chatserver.web.console_views.base import render, to_login
from chatserver.web.services import services

PRESETS = (7, 30, 90)
MEDIAN, P90 = "#4f46e5", "#0891b2"
CHATS, MISSED, RATING, AGENTS = "#4f46e5", "#f97316", "#059669", "#6366f1"
TIMES = (("first_response_seconds", "First response time",
          "From the visitor's first message to an agent's first reply."),
         ("waiting_seconds", "Waiting time",
          "Time in the queue before the first agent took the chat (transfers do not count)."),
         ("resolution_seconds", "Resolution time", "From the first message to the chat closing."))


def today() -> date:
    return datetime.now(UTC).date()


def parse_range(params: Any) -> tuple[date, date, str | None]:
    """The days asked for (the last 7 by default); an error message for a bad range, with
    the default range instead."""
    try:
        return *reports.day_range(params.get("from"), params.get("to"), today()), None
    except ValueError as error:
        problem, last = str(error), today()
        return (last - timedelta(days=6), last,
                f"{problem[:1].upper()}{problem[1:]}; showing the last 7 days.")


def money_lines(cents: dict[str, int]) -> list[str]:
    return [str(Money(amount, currency)) for currency, amount in sorted(cents.items())]


def report_charts(data: dict[str, Any]) -> dict[str, Any]:
    days = data["days"]
    labels = [charts.day_label(d["day"]) for d in days]
    made: dict[str, Any] = {}
    for key, title, _ in TIMES:
        made[key] = charts.line_chart(
            f"chart-{key.replace('_', '-')}", f"{title} per day: median and 90th percentile",
            labels, [charts.Series("Median", [d[key]["median"] for d in days], MEDIAN),
                     charts.Series("90th percentile", [d[key]["p90"] for d in days], P90,
                                   dashed=True)],
            empty="No chats with this figure in this range")
    made["chats"] = charts.bar_chart(
        "chart-chats", "Chats and missed chats per day", labels,
        [charts.Series("Chats", [d["chats"] for d in days], CHATS),
         charts.Series("Missed", [d["missed"] for d in days], MISSED)],
        empty="No chats in this range")
    made["satisfaction"] = charts.bar_chart(
        "chart-satisfaction", "Average satisfaction rating per day (1 to 5)", labels,
        [charts.Series("Average rating", [d["satisfaction"]["average"] for d in days], RATING)],
        value_format=charts.rating, top=5, empty="No ratings in this range")
    per_agent = sorted(data["total"]["chats_per_agent"].items(), key=lambda kv: (-kv[1], kv[0]))
    made["agents"] = charts.hbar_chart("chart-agents", "Chats per agent", per_agent,
                                       color=AGENTS)
    return made


async def reports_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login(request)
    if not session.agent.can_oversee:
        return render(request, "reports.html", session, 403, forbidden=True)
    first, last, error = parse_range(request.query_params)
    chats, money = await services(request).console.report_facts(first, last)
    data = reports.report(chats, money, first, last)
    total = data["total"]
    day_of = {c.conversation_id: c.day for c in chats}
    comments = [{**c, "day": charts.day_label(day_of[c["conversation_id"]])}
                for c in reversed(total["satisfaction"]["comments"])]
    end = today()
    presets = [{"days": n, "from": (end - timedelta(days=n - 1)).isoformat(),
                "to": end.isoformat(),
                "current": (first, last) == (end - timedelta(days=n - 1), end)}
               for n in PRESETS]
    return render(
        request, "reports.html", session, 200 if error is None else 422,
        report=data, total=total, first=first, last=last, error=error, presets=presets,
        charts=report_charts(data), times=TIMES, duration=charts.duration,
        day_label=charts.day_label, comments=comments,
        per_agent=sorted(total["chats_per_agent"].items(), key=lambda kv: (-kv[1], kv[0])),
        refunds=money_lines(total["refunds"]["cents"]),
        credits=money_lines(total["credits"]["cents"]),
        currencies=sorted({*total["refunds"]["cents"], *total["credits"]["cents"]}),
        money=lambda cents, currency: str(Money(cents, currency)),
        missed_share=(f"{total['missed'] / total['chats']:.0%}" if total["chats"] else None))


def routes() -> list[Route]:
    return [Route("/console/reports", reports_page)]
