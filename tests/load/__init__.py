"""The load-and-fault test: gunicorn on loopback, SMTP down, a backup running (marked `load`)."""
