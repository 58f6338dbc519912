"""What ops staff see: metrics, quality and alerts, the /ops feed, listeners, webhooks, logs."""
