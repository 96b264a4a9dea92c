"""`import timm` where no working torchvision is installed.

timm imports torchvision only for data transforms and layers that VisionTransformer does not use;
where no CPU torchvision is installed (PyPI's wheel needs CUDA torch), a stub package answers
every `torchvision.*` import with placeholder classes, so that `import timm` works; nothing of it
is used by VisionTransformer. Used by timm_crosscheck.py and make_lr_decay_fixture.py.
"""
import importlib.abc
import importlib.machinery
import sys
import types


class _Placeholder(type):
    """A class whose every attribute is another placeholder (enum members, constants)."""
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _Stub(types.ModuleType):
    """Any attribute is a placeholder class: enough for timm's module-level imports."""
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Stub(spec.name)
        m.__path__ = []
        m.__version__ = "0.0-stub"
        return m

    def exec_module(self, module):
        pass


def import_timm():
    """Imports timm (stubbing torchvision when the real one does not import). Returns False, after
    printing why, when timm itself is missing."""
    try:
        import timm  # noqa: F401
        return True
    except Exception:
        pass
    for k in list(sys.modules):
        if k.startswith("torchvision") or k.startswith("timm"):
            del sys.modules[k]
    sys.meta_path.insert(0, _StubFinder())
    try:
        import timm  # noqa: F401
        print("note: torchvision stubbed for import")
        return True
    except Exception as e:
        print("missing dependency: timm (%s)" % e)
        return False
