"""The application: channels (transports), services (use cases), jobs, and the thin CLI and
runtime that assemble them. See docs/architecture.md."""
