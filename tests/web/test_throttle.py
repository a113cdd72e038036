"""Key guessing on the sign-in form is slowed: a few refusals per address, then a wait."""

from __future__ import annotations

from serving.web.throttle import SignInThrottle


def test_an_address_waits_after_too_many_refusals_and_may_try_again_later() -> None:
    throttle = SignInThrottle(failures=3, window_seconds=60)
    for second in range(3):
        assert throttle.wait_seconds("10.0.0.1", now=second) == 0
        throttle.refused("10.0.0.1", now=second)
    assert throttle.wait_seconds("10.0.0.1", now=3) == 57
    assert throttle.wait_seconds("10.0.0.2", now=3) == 0  # other addresses are not affected
    assert throttle.wait_seconds("10.0.0.1", now=60.5) == 0  # the first refusal left the window
