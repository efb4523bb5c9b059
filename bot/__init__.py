"""Channel adapters (terminal now; Telegram and Zalo next), the chat service and the CLI."""
