"""Channel transports: Telegram, Zalo, the terminal and the webhook endpoints. They translate
between a messenger and our Incoming/Outgoing types and never touch storage or services."""
