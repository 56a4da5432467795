"""iOS/macOS push through APNs over HTTP/2 with token (JWT ES256) authentication."""
