"""Service metrics: names, labels, per-app registries and the /metrics body."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from serving.inference_scheduler import InferenceScheduler, Priority
from serving.metrics import ServiceMetrics
from tests.serving.test_inference_scheduler import WAIT, FakeModel, photos


def test_requests_are_counted_and_timed_by_route_template() -> None:
    metrics = ServiceMetrics()
    metrics.observe_request("/v1/items/{item_id}", "GET", 200, 0.012)
    metrics.observe_request("/v1/items/{item_id}", "GET", 200, 0.3)
    metrics.observe_request("/v1/items/{item_id}", "GET", 404, 0.004)
    sample = metrics.registry.get_sample_value
    assert (
        sample("secondlook_http_requests_total", {"route": "/v1/items/{item_id}", "method": "GET", "status": "200"})
        == 2
    )
    labels = {"route": "/v1/items/{item_id}", "method": "GET"}
    assert sample("secondlook_http_request_duration_seconds_count", labels) == 3
    assert sample("secondlook_http_request_duration_seconds_bucket", {**labels, "le": "0.005"}) == 1
    assert sample("secondlook_http_request_duration_seconds_bucket", {**labels, "le": "0.25"}) == 2


def test_inference_queue_jobs_and_webhooks() -> None:
    metrics = ServiceMetrics()
    metrics.on_batch(8, 0.08)
    metrics.on_queue_depth(12)
    metrics.set_job_queue_depth(3)
    metrics.count_webhook("delivered")
    metrics.count_webhook("delivered")
    metrics.count_webhook("retry")
    sample = metrics.registry.get_sample_value
    assert sample("secondlook_inference_seconds_sum") == 0.08
    assert sample("secondlook_inference_batch_size_bucket", {"le": "6.0"}) == 0
    assert sample("secondlook_inference_batch_size_bucket", {"le": "8.0"}) == 1
    assert sample("secondlook_inference_queue_photos") == 12
    assert sample("secondlook_job_queue_depth") == 3
    assert sample("secondlook_webhook_deliveries_total", {"outcome": "delivered"}) == 2
    assert sample("secondlook_webhook_deliveries_total", {"outcome": "retry"}) == 1


def test_two_apps_in_one_process_keep_separate_counts() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.count_webhook("failed")
    assert first.registry.get_sample_value("secondlook_webhook_deliveries_total", {"outcome": "failed"}) == 1
    assert second.registry.get_sample_value("secondlook_webhook_deliveries_total", {"outcome": "failed"}) is None


def test_render_is_prometheus_text_with_only_secondlook_metrics() -> None:
    metrics = ServiceMetrics()
    metrics.observe_request("/v1/kiosk/grade", "POST", 200, 0.05)
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    assert all(name.startswith("secondlook_") for name in families)
    bounds = {
        sample.labels["le"]
        for sample in families["secondlook_http_request_duration_seconds"].samples
        if sample.name.endswith("_bucket")
    }
    assert {"0.005", "5.0", "+Inf"} <= bounds


def test_metrics_observe_a_running_scheduler() -> None:
    metrics = ServiceMetrics()
    scheduler = InferenceScheduler(FakeModel(), max_batch=8, max_wait_ms=0, observer=metrics)
    scheduler.start()
    try:
        scheduler.run(photos(1, 2, 3), Priority.KIOSK, timeout=WAIT)
    finally:
        scheduler.stop(WAIT)
    assert metrics.registry.get_sample_value("secondlook_inference_batch_size_sum") == 3
    assert metrics.registry.get_sample_value("secondlook_inference_seconds_count") == 1
    assert metrics.registry.get_sample_value("secondlook_inference_queue_photos") == 0
