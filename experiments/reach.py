"""A new study in a few lines: does reaching more residents with each feedback round pay?"""

import sys

from experiments.studies import Study, labelled_arms, main_wrapper


def analyse(ctx):
    return [f"- wide minus thin, high confidence: {ctx.difference_line('Wide', 'Thin', 'trust_high_share')}"]


STUDY = Study(
    "reach",
    "Does reaching more residents pay?",
    lambda s: labelled_arms(s.cfg.study.arms),
    analyse,
    needs=("Thin", "Wide"),
)

if __name__ == "__main__":
    sys.exit(main_wrapper(STUDY, sys.argv[1:]))
