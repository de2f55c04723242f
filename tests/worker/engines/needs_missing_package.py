"""An engine whose module imports a package that is not installed."""

import reelforge_test_no_such_package  # noqa: F401


class Engine:  # never reached
    pass
