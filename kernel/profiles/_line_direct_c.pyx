# cython: language_level=3, annotation_typing=False
# The compiled build of the import lines' direct path: the very source of _line_direct.py, so that both
# behave alike (kernel/profiles/import_lines.py picks one; tests/test_import_lines.py runs both).
include "_line_direct.py"
