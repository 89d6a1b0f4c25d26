"""HTTP adapters (FastAPI). Errors become RFC 9457 (ex-7807) problem details via ``problem``."""
