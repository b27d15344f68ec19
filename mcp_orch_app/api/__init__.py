"""REST API: FastAPI routers that adapt HTTP to the services and nothing more."""
