"""The training engine. The package itself is callable: `steadygan.train(cfg)` runs
`steadygan.train.loop.train`, so the public function and the subpackage share one name without
the function hiding the package (which broke `import steadygan.train.loop`)."""
from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from steadygan.train.loop import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
