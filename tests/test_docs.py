from sim.docs import DOC, current_block, parameter_table
from sim.params import PARAMS


def test_docs_parameter_table_matches_declaration():
    assert current_block(DOC.read_text()) == parameter_table(), "run `make docs` (python -m sim.docs)"


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
    ):
        assert module in text, module
    assert len(PARAMS) > 60
