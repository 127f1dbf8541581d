"""The service suite runs on every backend."""

from tests.backends import every_backend as every_backend  # these tests run on each
