"""Generated gRPC stubs of Herald's public API (see ../*.proto). Do not edit; run proto/generate.py."""
