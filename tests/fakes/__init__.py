"""Fake Telegram and Zalo Bot API servers on 127.0.0.1, started by test fixtures."""
