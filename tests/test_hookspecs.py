import inspect

import pluggy

from kernel import hookspecs


def test_every_hook_is_documented_and_named_verb_first():
    specs = [(name, fn) for name, fn in vars(hookspecs).items() if hasattr(fn, "crm_spec")]
    assert len(specs) >= 10
    for name, fn in specs:
        doc = inspect.getdoc(fn)
        assert doc and len(doc) > 20, f"hook {name} needs a docstring"
        assert name.split("_")[0] in {"register", "before", "after", "extra", "authorize", "record", "find", "scan", "on"}, name


def test_markers_are_the_crm_project():
    assert isinstance(hookspecs.hookimpl, pluggy.HookimplMarker)
    assert hookspecs.hookimpl.project_name == "crm" == hookspecs.hookspec.project_name
