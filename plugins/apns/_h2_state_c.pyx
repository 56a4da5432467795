# cython: language_level=3, annotation_typing=False
# The compiled build of the APNs HTTP/2 connection state: the very source of _h2_state.py, so that both
# behave alike (plugins/apns/h2wire.py picks one; tests/plugins/test_apns_builds.py compares them).
include "_h2_state.py"
