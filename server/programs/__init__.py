"""Programs in the process: the sealed store, the attendance recorder, the service, HTTP routes."""
