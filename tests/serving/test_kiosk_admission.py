"""Kiosk admission before decoding: the estimate, the refusal with its retry time, and the release of places."""

from __future__ import annotations

import threading

import pytest

from serving.kiosk_admission import INITIAL_SECONDS_PER_PHOTO, KioskAdmission, KioskBusy


def test_a_request_is_always_admitted_when_nothing_is_in_flight() -> None:
    admission = KioskAdmission(budget_seconds=0.01)
    with admission.admit(50):
        assert admission.in_flight == 50
    assert admission.in_flight == 0


def test_a_request_that_would_wait_past_the_budget_is_refused_with_when_to_retry() -> None:
    admission = KioskAdmission(budget_seconds=1.0)
    admission.record(photos=4, busy_seconds=0.4)  # 0.1 s per photo, smoothed from the initial estimate
    per_photo = admission.seconds_per_photo
    fits = int(1.0 / per_photo)
    with admission.admit(fits - 1), admission.admit(1), pytest.raises(KioskBusy) as busy:  # fits: both admitted
        admission.admit(2).__enter__()
    assert busy.value.photos_ahead == fits
    assert busy.value.expected_wait == pytest.approx((fits + 2) * per_photo)
    assert busy.value.retry_after_seconds == pytest.approx((fits + 2) * per_photo - 1.0)
    assert admission.in_flight == 0  # the refused request held no place; the others gave theirs back


def test_places_are_given_back_when_the_request_fails() -> None:
    admission = KioskAdmission(budget_seconds=1.0)
    with pytest.raises(ValueError), admission.admit(3):
        raise ValueError("a bad photo")
    assert admission.in_flight == 0


def test_the_estimate_follows_measured_requests_and_ignores_empty_ones() -> None:
    admission = KioskAdmission(budget_seconds=1.0)
    assert admission.seconds_per_photo == INITIAL_SECONDS_PER_PHOTO
    for _ in range(60):
        admission.record(photos=2, busy_seconds=0.5)
    assert admission.seconds_per_photo == pytest.approx(0.25, rel=1e-3)
    admission.record(photos=0, busy_seconds=1.0)
    assert admission.seconds_per_photo == pytest.approx(0.25, rel=1e-3)


def test_concurrent_requests_never_exceed_the_budget() -> None:
    admission = KioskAdmission(budget_seconds=INITIAL_SECONDS_PER_PHOTO * 10)  # ten one-photo requests fit
    clients = 40
    admitted, refused, lock = [0], [0], threading.Lock()
    go, all_tried = threading.Barrier(clients), threading.Barrier(clients)

    def client() -> None:
        go.wait()
        try:
            with admission.admit(1):
                with lock:
                    admitted[0] += 1
                all_tried.wait()  # hold the place until every client has tried
        except KioskBusy:
            with lock:
                refused[0] += 1
            all_tried.wait()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert (admitted[0], refused[0], admission.in_flight) == (10, 30, 0)


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        KioskAdmission(budget_seconds=0)
