"""Schedule expressions fire when EventBridge would fire them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localcloud.patches.schedules import next_fire

NOW = datetime(2026, 11, 27, 14, 52, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", datetime(2026, 11, 27, 14, 57, 30, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 27, 15, 52, 30, tzinfo=UTC)),
        ("rate(1 day)", datetime(2026, 11, 28, 14, 52, 30, tzinfo=UTC)),
        ("cron(0 7 * * ? *)", datetime(2026, 11, 28, 7, 0, tzinfo=UTC)),
        ("cron(*/15 * * * ? *)", datetime(2026, 11, 27, 15, 0, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("cron(30 8 1 JAN ? 2027)", datetime(2027, 1, 1, 8, 30, tzinfo=UTC)),
        ("cron(0 12 ? * 1 *)", datetime(2026, 11, 29, 12, 0, tzinfo=UTC)),  # 1 = Sunday
    ],
)
def test_next_fire(expression: str, expected: datetime) -> None:
    assert next_fire(expression, NOW) == expected


def test_unsupported_cron_features_never_fire() -> None:
    assert next_fire("cron(0 10 L * ? *)", NOW) is None
    assert next_fire("at(2026-12-01T00:00:00)", NOW) is None
