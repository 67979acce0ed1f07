"""TAP output for the Python test programs under tests/report.

tests/run counts `ok N`, `not ok N` and `ok N # SKIP` lines; this prints one
per unittest test as it finishes and the plan at the end.
"""

import unittest


class TapResult(unittest.TestResult):
    """Print one TAP line per test as it finishes."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _desc(self, test):
        return (test.shortDescription() or test.id()).strip()

    def addSuccess(self, test):
        self.n += 1
        print(f"ok {self.n} - {self._desc(test)}", flush=True)

    def _fail(self, test, err):
        self.n += 1
        print(f"not ok {self.n} - {self._desc(test)}", flush=True)
        for line in self._exc_info_to_string(err, test).rstrip().splitlines():
            print(f"# {line}")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSkip(self, test, reason):
        self.n += 1
        print(f"ok {self.n} # SKIP {reason}", flush=True)


def run_classes(*classes):
    """Run the test classes in order with TAP output; 0 if all passed, else 1."""
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for cls in classes:
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = TapResult()
    suite.run(result)
    print(f"1..{result.n}")
    return 0 if result.wasSuccessful() else 1
