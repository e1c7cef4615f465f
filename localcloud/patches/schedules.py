"""EventBridge: scheduled rules fire, and rules deliver to Lambda targets (moto does neither)."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.events.models import Rule, events_backends

from localcloud.patches.context import LocalCloud

log = logging.getLogger("localcloud.schedules")
TICK_SECONDS = 1.0
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_MONTH_NAMES = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES.split(), start=1)}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for `*`/`?` (anything); raises on L, W and #."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-")
            start, end = (
                (names or {}).get(first, None) or int(first),
                (names or {}).get(last, None) or int(last),
            )
        else:
            start = (names or {}).get(part) or int(part)
            end = high if "/" in text else start
        values.update(range(start, end + 1, step))
    return values


def next_fire(expression: str, after: datetime) -> datetime | None:
    """When a schedule expression next fires after `after` (UTC); None if not supported."""
    rate = _RATE.match(expression.strip())
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        return after + timedelta(**{f"{unit}s": amount})
    cron = _CRON.match(expression.strip())
    if not cron:
        return None
    try:
        minutes, hours, days, months, weekdays, years = cron.group(1).split()
        allowed = (
            _field(minutes, 0, 59),
            _field(hours, 0, 23),
            _field(days, 1, 31),
            _field(months, 1, 12, _MONTHS),
            _field(weekdays, 1, 7, _DAYS),
            _field(years, 1970, 2199),
        )
    except ValueError:
        log.warning("schedule %s uses cron features localcloud does not evaluate", expression)
        return None
    minute_set, hour_set, day_set, month_set, weekday_set, year_set = allowed
    day = after.replace(second=0, microsecond=0)
    for _ in range(366 * 2):
        weekday = (day.weekday() + 1) % 7 + 1  # EventBridge: SUN=1 ... SAT=7
        if (
            (year_set is None or day.year in year_set)
            and (month_set is None or day.month in month_set)
            and (day_set is None or day.day in day_set)
            and (weekday_set is None or weekday in weekday_set)
        ):
            for hour in range(24):
                if hour_set is not None and hour not in hour_set:
                    continue
                for minute in range(60):
                    if minute_set is not None and minute not in minute_set:
                        continue
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate > after:
                        return candidate
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
    return None


def _deliver_to_lambda(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    from moto.awslambda.utils import get_backend

    from localcloud.patches import awslambda

    payload: Any = event
    if "Input" in target:
        payload = json.loads(target["Input"])
    from localcloud.iam import enforce

    parts = target["Arn"].split(":")
    fn = get_backend(parts[4], parts[3]).get_function(target["Arn"])
    # EventBridge invokes only where the function's resource policy lets the rule do it.
    if not enforce.service_may(
        "events.amazonaws.com",
        "lambda:InvokeFunction",
        fn.function_arn,
        source_arn=rule.arn,
        source_account=parts[4],
    ):
        return
    awslambda.invoke_async(fn, json.dumps(payload))


class Scheduler:
    def __init__(self) -> None:
        self._next: dict[str, tuple[str, datetime | None]] = {}
        threading.Thread(target=self._run, daemon=True, name="scheduler").start()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(TICK_SECONDS):
            try:
                self._tick(datetime.now(UTC))
            except Exception:
                log.exception("schedule tick failed")

    def _tick(self, now: datetime) -> None:
        for account_id, regions in list(events_backends.items()):
            for region, backend in list(regions.items()):
                for bus in list(backend.event_buses.values()):
                    for rule in list(bus.rules.values()):
                        expression = rule.scheduled_expression
                        if not expression or rule.state != "ENABLED":
                            continue
                        known = self._next.get(rule.arn)
                        if known is None or known[0] != expression:
                            self._next[rule.arn] = (expression, next_fire(expression, now))
                            continue
                        due = known[1]
                        if due is not None and now >= due:
                            self._next[rule.arn] = (expression, next_fire(expression, due))
                            self._fire(rule, account_id, region, due)

    @staticmethod
    def _fire(rule: Rule, account_id: str, region: str, due: datetime) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account_id,
            "time": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [rule.arn],
            "detail": {},
        }
        for target in rule.targets:
            if ":lambda:" in target["Arn"]:
                _deliver_to_lambda(rule, target, event)
            else:
                log.warning("scheduled target %s is not supported locally", target["Arn"])


def scheduled_rules(cloud: LocalCloud) -> None:
    """Rules with a ScheduleExpression fire on time; every rule delivers to Lambda targets.

    AWS fires `rate(...)` and `cron(...)` rules and invokes Lambda targets asynchronously with a
    "Scheduled Event" (or the target's constant Input); moto stores such rules but never fires
    them, and raises NotImplementedError for a Lambda target of an event-pattern rule. The first
    run of a rate rule comes one interval after it is seen, as on AWS.
    """
    Scheduler()
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if ":lambda:" in t["Arn"]]
        if lambdas and self.event_pattern.matches_event(original_event):
            for target in lambdas:
                _deliver_to_lambda(self, target, dict(original_event))
        others = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        if others:
            kept = self.targets
            self.targets = others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = kept

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
