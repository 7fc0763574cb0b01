"""The checks of tests/deploy/validate_manifests.py, one module per kind of file."""
