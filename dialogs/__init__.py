"""The conversation, as a pure state machine: no messenger library, no I/O, no clock of its own."""
