# Unit tests: each tests/unit/test_*.c is a program linked with the host objects.
UNIT_TESTS += $(sort $(wildcard tests/unit/test_*.c))
