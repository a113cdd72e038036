"""Everything one service process holds, built in `create_app`'s lifespan, never at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grading.inference import GradingModel, load_model
from grading.intake import Preprocessing
from serving.database import make_engine, migrate, session_factory
from serving.inference_scheduler import InferenceScheduler
from serving.item_grader import ItemGrader, load_rules
from serving.job_queue import JobWorkers
from serving.kiosk_admission import KioskAdmission
from serving.metrics import ServiceMetrics
from serving.settings import Settings
from serving.storage import PhotoStore, open_photo_store
from serving.uploads import DecodedPhotoCache
from serving.webhooks import WebhookDispatcher

log = logging.getLogger("secondlook.runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: PhotoStore
    metrics: ServiceMetrics
    scheduler: InferenceScheduler
    grader: ItemGrader
    cache: DecodedPhotoCache
    workers: JobWorkers
    dispatcher: WebhookDispatcher
    kiosk_admission: KioskAdmission

    def preprocessing(self) -> Preprocessing:
        """How the active bundle wants photos framed."""
        return self.scheduler.model.metadata.input.preprocessing()

    def stop(self) -> None:
        self.workers.stop()
        self.dispatcher.stop()
        self.scheduler.stop()
        self.engine.dispose()


def warm_up(model: GradingModel) -> None:
    """One throwaway pass at each batch size likely to run, so no first customer pays ONNX Runtime's warm-up."""
    crop = model.metadata.input.crop_size
    for batch in (1, 2):
        model.run(np.zeros((batch, crop, crop, 3), np.uint8))


def start_runtime(settings: Settings) -> Runtime:
    """Open the database (migrating it), the photo store and the model, then start the background threads."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_photo_store(settings)  # first: a missing bucket or wrong credentials stop the start now
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = session_factory(engine)
    metrics = ServiceMetrics()
    model = load_model(settings.bundle, threads=settings.inference_threads)
    warm_up(model)
    scheduler = InferenceScheduler(
        model,
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        max_queued_photos=settings.max_queued_photos,
        observer=metrics,
    )
    grader = ItemGrader(scheduler, load_rules(settings.policy, settings.pricing))
    cache = DecodedPhotoCache()
    workers = JobWorkers(sessions, store, lambda: grader, settings, cache, on_depth=metrics.set_job_queue_depth)
    dispatcher = WebhookDispatcher(
        sessions,
        settings.webhooks,
        poll_seconds=settings.webhook_poll_seconds,
        max_attempts=settings.webhook_max_attempts,
        on_delivery=metrics.count_webhook,
    )
    admission = KioskAdmission(settings.kiosk_wait_budget_seconds)
    parts = (store, metrics, scheduler, grader, cache, workers, dispatcher, admission)
    runtime = Runtime(settings, engine, sessions, *parts)
    scheduler.start()
    if settings.start_background:
        workers.start()
        dispatcher.start()
    log.info("model %s %s loaded from %s", model.metadata.name, model.metadata.version, settings.bundle)
    return runtime
