"""Litestar route handlers, one module per API family, plus the pieces they share."""
