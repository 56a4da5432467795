# cython: language_level=3, annotation_typing=False
# The compiled build of the APNs HPACK codec: the very source of _hpack_codec.py, so that both behave
# alike (plugins/apns/h2hpack.py picks one; tests/plugins/test_apns_builds.py compares them).
include "_hpack_codec.py"
