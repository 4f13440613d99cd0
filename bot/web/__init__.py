"""The web channel: the embeddable chat widget, the demo page, and what keeps the API safe
to call from browsers (CORS, security headers, rate limits)."""
