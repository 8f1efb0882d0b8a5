"""Who runs the work and when: APScheduler jobs, the embedded sender threads, Celery in scaled mode."""

from scheduler.embedded import EmbeddedRunner

__all__ = ["EmbeddedRunner"]
