"""What every HTTP channel of the app shares: the JSON error type, CORS and security
headers, rate limits, and server-sent events."""
