"""Prometheus metrics of one app, in its own registry so several apps in one process never collide.

`ServiceMetrics` also implements `serving.inference_scheduler.InferenceObserver`: pass it as the scheduler's
observer and inference time, batch size and queue depth are recorded from the inference thread.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from serving.drift_metrics import DriftCollector
from serving.quality_metrics import PhotoQualityMetrics

# From a 5 ms kiosk inference to a 5 s multi-photo station upload; denser where the kiosk budget lies.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_SIZE_BUCKETS: tuple[float, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 32)


class ServiceMetrics:
    """Requests, latencies by route template, inference batches, queue depths, webhook deliveries, photo
    quality per station (`photo_quality`) and drift against the bundle's reference (`drift`, read at scrape time
    once `create_app` attaches the drift monitor)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "secondlook_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._request_seconds = Histogram(
            "secondlook_http_request_duration_seconds",
            "Time from request to response, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._inference_seconds = Histogram(
            "secondlook_inference_seconds",
            "Time of one model run on a batch of photos.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batch_size = Histogram(
            "secondlook_inference_batch_size",
            "Photos in one model run.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=self.registry,
        )
        self._inference_queue = Gauge(
            "secondlook_inference_queue_photos", "Photos waiting for the model.", registry=self.registry
        )
        self._job_queue = Gauge(
            "secondlook_job_queue_depth", "Durable station jobs waiting for a worker.", registry=self.registry
        )
        self._webhook_backlog = Gauge(
            "secondlook_webhook_undelivered",
            "Webhook messages not delivered yet (retrying, or given up after the last attempt).",
            registry=self.registry,
        )
        self._webhooks = Counter(
            "secondlook_webhook_deliveries",
            "Webhook delivery attempts, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.photo_quality = PhotoQualityMetrics(self.registry)
        self.drift = DriftCollector()
        self.registry.register(self.drift)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request; `route` is the template (`/v1/items/{item_id}`), never the raw path."""
        self._requests.labels(route=route, method=method, status=str(status)).inc()
        self._request_seconds.labels(route=route, method=method).observe(seconds)

    def on_batch(self, size: int, seconds: float) -> None:
        """One model run of `size` photos took `seconds` (called by the inference scheduler)."""
        self._inference_seconds.observe(seconds)
        self._batch_size.observe(size)

    def on_queue_depth(self, photos: int) -> None:
        """Photos now waiting for the model (called by the inference scheduler)."""
        self._inference_queue.set(photos)

    def set_job_queue_depth(self, jobs: int) -> None:
        self._job_queue.set(jobs)

    def set_webhook_backlog(self, messages: int) -> None:
        self._webhook_backlog.set(messages)

    def count_webhook(self, outcome: str) -> None:
        """One delivery attempt ended with `outcome` (a small closed set, such as delivered / retry / failed)."""
        self._webhooks.labels(outcome=str(outcome)).inc()

    def render(self) -> tuple[bytes, str]:
        """The body and content type for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
