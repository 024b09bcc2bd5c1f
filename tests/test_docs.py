"""The documentation agrees with the code: generated tables, roles and priors, cited sources present."""

import re
from pathlib import Path

from sim.docs import DOC, END, EVIDENCE, START, T_END, T_START, block, parameter_table, target_table
from sim.params import PARAMS, ROLES
from sim.targets import load_targets

ROOT = Path(__file__).resolve().parent.parent


def test_docs_parameter_table_matches_declaration():
    assert block(DOC.read_text(), START, END) == parameter_table(), "run `make docs` (python -m sim.docs)"


def test_evidence_target_table_matches_targets_file():
    assert block(EVIDENCE.read_text(), T_START, T_END) == target_table(), "run `make docs` (python -m sim.docs)"


def test_every_parameter_has_a_role_unit_and_source_and_every_uncertain_one_a_prior():
    for p in PARAMS.values():
        assert p.role in ROLES, p.name
        assert p.unit and p.source and p.doc, p.name
        if p.role == "uncertain":
            assert p.prior is not None and p.prior.why, p.name
            assert p.low <= p.prior.low < p.prior.high <= p.high, p.name
            assert p.prior.dist in ("uniform", "loguniform"), p.name
        else:
            assert p.prior is None, p.name


def test_calibrated_sources_name_a_target_that_exists():
    """A source that says 'calibrated' must name the target it was fitted to, and that target must exist."""
    ids = {t.id for t in load_targets()}
    for p in PARAMS.values():
        if "calibrated" in p.source:
            named = set(re.findall(r"\bT\d+\b", p.source))
            assert named and named <= ids, (p.name, p.source)


def test_docs_mention_every_module_rule():
    text = DOC.read_text()
    for module in (
        "residents.py",
        "officers.py",
        "problems.py",
        "promise_cycle.py",
        "feedback.py",
        "social.py",
        "partners.py",
        "survey.py",
        "area.py",
        "streams.py",
    ):
        assert module in text, module


def test_every_cited_source_is_in_the_repository():
    """Docs and the declaration cite only documents inside the project, and every section they cite exists."""
    sections = set(re.findall(r"^## (\d+)\.", EVIDENCE.read_text(), flags=re.M))
    texts = {p: p.read_text() for p in [*ROOT.glob("docs/*.md"), ROOT / "README.md", ROOT / "sim" / "params.py"]}
    texts[ROOT / "configs" / "targets.yaml"] = (ROOT / "configs" / "targets.yaml").read_text()
    for path, text in texts.items():
        assert "../shared" not in text and "MODEL.md" not in text, path
        for cited in re.findall(r"evidence\.md §(\d+)", text):
            assert cited in sections, (path, cited)
        for doc in re.findall(r"docs/([\w-]+\.md)", text):
            assert (ROOT / "docs" / doc).exists(), (path, doc)
