"""Sphinx configuration of raikit's documentation (``make docs`` builds it into docs/_build/html).

The API reference is generated from each public package's ``__all__`` when the build starts (one
page per package under ``docs/api/``, one page per object under ``docs/api/generated/``), so a name
added to an ``__all__`` appears without editing this folder. The site loads nothing from the network:
no web fonts, no analytics, no CDN scripts (``tests/test_docs.py`` checks the built pages).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

import raikit  # noqa: E402

project = "raikit"
author = "the raikit authors"
copyright = "the raikit authors"
release = version = raikit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# sphinx-gallery writes no timing page (write_computation_times below); a stale one is not built.
exclude_patterns = ["_build", "_templates", "**/README.md", "**sg_execution_times.rst"]
templates_path = ["_templates"]

# Every reference must resolve (warnings are errors in `make docs`); objects of other libraries
# cannot be linked offline (no intersphinx inventories are downloaded), so they are listed here.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|pandas|pd|polars|pl|scipy|sklearn|torch|plotly|pyspark|duckdb|"
     r"opendp|opacus|shap|fairlearn|mlflow|sqlite3|pathlib|os|collections|typing|datetime|"
     r"contextlib|types|io|enum|dataclasses|abc)(\..*)?"),
    # raikit's private modules (``raikit._grouping``, ``raikit.metrics._engine``, ...) are not part
    # of the reference; docstrings name them to say where a rule lives.
    (r"py:.*", r"(raikit\.)?(\w+\.)*_[a-z]\w*(\..*)?"),
    # scikit-learn's generated ``set_fit_request`` docstrings point into scikit-learn's own guide.
    (r"std:ref", r"metadata_routing"),
    (r"std:term", r"meta-estimator"),
]  # fmt: skip

# MyST: heading anchors so that `glossary.md#...` links resolve; markdown tables and code.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# autodoc / autosummary / numpydoc
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc Parameters sections say the types, in words
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

# sphinx-gallery: every example runs during the build (the data ships with raikit.datasets).
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "image_scrapers": (),  # raikit draws Plotly figures; the examples print their tables
    "matplotlib_animations": False,
    "reference_url": {},
    "line_numbers": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # its page loads DataTables from a CDN
}

# The PyData theme, offline: no external icon links, no analytics, no web fonts (the theme ships
# its fonts and Font Awesome icons with the package).
html_theme = "pydata_sphinx_theme"
html_title = f"raikit {release}"
html_theme_options = {
    "icon_links": [],
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "navigation_with_keys": False,
    "use_edit_page_button": False,
    "analytics": {},
    "show_version_warning_banner": False,
}
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
# No page writes LaTeX math: MathJax would load from a CDN (tests/test_docs.py checks it does not).

# ---------------------------------------------------------------------------------------------
# The API reference, one page per public package, generated from __all__.

API_PACKAGES = {
    "raikit": "The top level: the Dataset, recording, model files and the errors.",
    "raikit.metrics": "Group metrics, fairness criteria, inequality indices and power analysis.",
    "raikit.data": "The data stage: profiles, schemas, drift, representation, label errors, "
    "leakage, cleaning and data acquisition.",
    "raikit.evaluate": "Evaluation: sliced metrics with intervals, slice finding, costs, "
    "learning curves, label-free performance estimates and stress tests.",
    "raikit.train": "Fair and robust training: FairBatch, FR-Train, reductions, "
    "post-processing and reweighing.",
    "raikit.explain": "Explanations: attributions, partial dependence, what-if, "
    "counterfactuals and flip tests.",
    "raikit.privacy": "Differential privacy with a budget, membership inference, DP training "
    "and DP synthetic data.",
    "raikit.federated": "Federated learning on Flower and federated fairness from clients' counts.",
    "raikit.sandbox": "The confidential sandbox: data and models encrypted at rest, a signed "
    "access log, exports limited by policy and a signed deletion certificate.",
    "raikit.review": "Human review: selective prediction and the review queue.",
    "raikit.monitor": "Monitoring predictions over time windows.",
    "raikit.ledger": "The evidence ledger: runs, datasets, models, evidence and lineage.",
    "raikit.cards": "Problem definitions, model cards and EU AI Act Annex IV documentation.",
    "raikit.audit": "The audit: every stage's checks in one run, and its report.",
    "raikit.gates": "Gates: judge an audit against a policy in CI.",
    "raikit.testing": "Assertions for a pytest suite.",
    "raikit.datasets": "The bundled datasets (offline) and synthetic generators.",
}


def api_names(package: str) -> list[str]:
    """The names of ``package.__all__`` that get an API page (modules and ``__version__`` do not)."""
    module = importlib.import_module(package)
    names = []
    for name in module.__all__:
        if name.startswith("__"):
            continue
        if inspect.ismodule(getattr(module, name)):
            continue  # raikit.ledger and raikit.audit have pages of their own
        names.append(name)
    return names


def _write_api_pages() -> None:
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    index = [
        "API reference",
        "=============",
        "",
        "Every public name of raikit, one page per package, generated from the docstrings.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    for package, blurb in API_PACKAGES.items():
        index.append(f"   {package}")
        module = importlib.import_module(package)
        lines = [
            f"``{package}``",
            "=" * (len(package) + 4),
            "",
            f".. automodule:: {package}",
            "   :no-members:",
            "",
            blurb,
            "",
            f".. currentmodule:: {package}",
            "",
        ]
        classes = [n for n in api_names(package) if inspect.isclass(getattr(module, n))]
        functions = [n for n in api_names(package) if callable(getattr(module, n))]
        functions = [n for n in functions if n not in classes]
        data = [n for n in api_names(package) if n not in classes and n not in functions]
        for title, names, template in (
            ("Classes", classes, "class.rst"),
            ("Functions", functions, None),
            ("Constants", data, None),
        ):
            if not names:
                continue
            lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated/"]
            if template:
                lines.append(f"   :template: {template}")
            lines.append("")
            lines += [f"   {n}" for n in names]
            lines.append("")
        text = "\n".join(lines)
        path = out / f"{package}.rst"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    text = "\n".join(index) + "\n"
    path = out / "index.rst"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_api_pages()


# ---------------------------------------------------------------------------------------------
# Results are frozen dataclasses whose fields are documented in the class's Attributes section;
# autodoc gives a field without a class-level default no target of its own, so a method's
# :attr:`table` would not resolve. It links to the class's page instead.


def _dataclass_field(app, env, node, contnode):
    """Resolve ``:attr:`name``` inside a dataclass to the class, when ``name`` is a field."""
    import dataclasses

    target, owner, module = node.get("reftarget", ""), node.get("py:class"), node.get("py:module")
    if node.get("refdomain") != "py" or node.get("reftype") != "attr" or "." in target:
        return None
    if not owner or not module:
        return None
    try:
        cls = getattr(importlib.import_module(module), owner.split(".")[0])
    except (ImportError, AttributeError):
        return None
    if not dataclasses.is_dataclass(cls) or target not in {f.name for f in dataclasses.fields(cls)}:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, "class", f"{module}.{cls.__name__}", node, contnode
    )


def setup(app):
    app.connect("missing-reference", _dataclass_field)
