"""HTTP surface: pages and static files with security headers, the admin API, TLS."""
