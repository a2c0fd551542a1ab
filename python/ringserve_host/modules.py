"""Importing a model's module as MLServer does (settings folder at sys.path[0] while importing,
removed afterwards), while keeping models apart: two model folders that both hold `models.py`
each get their own module. Before importing from a folder, the modules an earlier import took
from another model folder (and this folder's own, so an edited models.py runs anew on reload)
leave sys.modules; objects already created keep their module alive. A model folder's modules are
compiled from source on each import, never from a .pyc (_SourceLoader says why).

The worker creates models on several threads at once (worker/control_loop.cpp starts one job per
load), and sys.path and sys.modules are process-wide: without _lock, one thread's folder could sit
at sys.path[0] while another imports, or a thread could find the other's freshly imported
`models` in sys.modules, and two models would answer with one module. _lock makes the whole
eviction-import-record step one at a time (the GIL alone is released between bytecodes and
during file I/O)."""
import importlib
import inspect
import os
import sys
import threading

from mlserver.model import MLModel

# model folder -> names of the modules imported from it
_imported_from = {}
_lock = threading.RLock()


class ClassNotFound(Exception):
    pass


def folder_name(model_dir):
    return os.path.basename(os.path.normpath(model_dir)) if model_dir else ""


def settings_path(model_dir):
    return os.path.join(model_dir, "model-settings.json") if model_dir else None


def _inside(path, folder):
    return path is not None and os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep)


def _evict_model_modules():
    for names in _imported_from.values():
        for name in names:
            sys.modules.pop(name, None)


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles a model folder's module from its source on every import and writes no .pyc: a
    .pyc is trusted when the source's size and mtime (whole seconds) match, so an edit of the same
    size within a second of the last import would reload the old code."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _source_finder(path):
    return importlib.machinery.FileFinder(
        path, (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (_SourceLoader, importlib.machinery.SOURCE_SUFFIXES))


def _source_hook(folder):
    """A path hook for `folder` and its subfolders (packages inside a model folder)."""
    def hook(path):
        if path == folder or _inside(path, folder):
            return _source_finder(path)
        raise ImportError("not a model folder")
    return hook


def _import(module_name, module_dir):
    with _lock:
        return _import_locked(module_name, module_dir)


def _import_locked(module_name, module_dir):
    on_path = module_dir in sys.path
    if on_path or not module_dir:  # built-in packages, environment site-packages
        return importlib.import_module(module_name)
    _evict_model_modules()
    before = set(sys.modules)
    hook = _source_hook(module_dir)
    for path in [p for p in sys.path_importer_cache if p == module_dir or _inside(p, module_dir)]:
        del sys.path_importer_cache[path]
    sys.path_hooks.insert(0, hook)
    sys.path.insert(0, module_dir)
    try:
        importlib.invalidate_caches()
        module = importlib.import_module(module_name)
    finally:
        try:
            sys.path.remove(module_dir)
        except ValueError:
            pass
        sys.path_hooks.remove(hook)
    _imported_from[module_dir] = [n for n in set(sys.modules) - before
                                  if _inside(getattr(sys.modules[n], "__file__", None), module_dir)]
    return module


def load_class(implementation, module_dir):
    module_name, _, class_name = implementation.replace(":", ".").rpartition(".")
    if not module_name:
        raise ClassNotFound(f"implementation '{implementation}' is not <module>.<Class>")
    module = _import(module_name, module_dir)
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        found = sorted(n for n, c in vars(module).items()
                       if inspect.isclass(c) and issubclass(c, MLModel) and c is not MLModel)
        where = getattr(module, "__file__", module_name)
        listed = ", ".join(f"'{n}'" for n in found) or "none"
        raise ClassNotFound(f"module '{module_name}' ({where}) has no class '{class_name}'; "
                            f"classes there deriving from mlserver.MLModel: {listed}")
    return cls
